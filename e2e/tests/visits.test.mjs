// Visits on a phone: a grid worker logs a home visit in a few taps (kind, time defaulted,
// a household found with the filter box, findings), then makes the finding a request.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fitsWidth, login, phone } from "./browser.mjs";

test("a grid worker logs a visit from a phone and turns the finding into a request", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "wangge01");
    await page.click("a[data-testid=nav-visits]");
    await page.click("a[data-testid=new-visit]");
    assert.ok(await fitsWidth(page), "the visit form fits the phone");
    // The time defaults to now; the kind defaults to a home visit.
    assert.ok((await page.inputValue("input[name=visited_at]")).length >= 16);
    const rows = page.locator("[data-household]");
    const total = await rows.count();
    assert.ok(total > 1, "the grid's households are offered");
    // Filter by the first household's building, then tick it.
    const first = (await rows.first().innerText()).trim();
    const building = first.split(" ")[1] ?? first;
    await page.fill("input[data-testid=household-filter]", building);
    const shown = await page.locator("[data-household]:not([hidden])").count();
    assert.ok(shown >= 1 && shown <= total, "the filter narrows the list");
    await page.locator("[data-household]:not([hidden]) input").first().check();
    await page.fill("input[name=minutes]", "35");
    await page.fill("textarea[name=findings]", "独居老人反映楼道灯坏了");
    await Promise.all([page.waitForURL(/\/visits\/[0-9a-f-]{36}$/), page.click("button[data-testid=save-visit]")]);
    assert.match(await page.locator("[data-testid=visit-findings]").innerText(), /楼道灯/);
    assert.ok(await fitsWidth(page), "the visit page fits the phone");
    await page.selectOption("form[data-testid=to-request] select[name=service_code]", "sanitation");
    await Promise.all([page.waitForURL(/\/requests\/[0-9a-f-]{36}$/), page.click("form[data-testid=to-request] button")]);
    assert.equal(await page.locator("[data-testid=request-status]").innerText(), "已派单");
    await page.click("a[data-testid=nav-visits]");
    assert.ok((await page.locator("[data-testid=visit-row]").count()) >= 1);
    assert.ok(await fitsWidth(page), "the visit list fits the phone");
  } finally {
    await close();
  }
});
