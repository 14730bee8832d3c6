// The visit form's household filter: typing narrows the list of households to tick.
// Without script every household stays listed, so the form still works.
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector("[data-filter=household]");
  if (!box) return;
  box.addEventListener("input", () => {
    const q = box.value.trim().toLowerCase();
    for (const row of document.querySelectorAll("[data-household]")) {
      row.hidden = q !== "" && !row.textContent.toLowerCase().includes(q) && !row.querySelector("input").checked;
    }
  });
});
