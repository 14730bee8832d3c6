// The re-division proposal on a phone (the proposed grids drawn beside today's boundaries,
// the moved buildings ringed, the list of moves next to the map) and the station picker.
import { test } from "node:test";
import assert from "node:assert/strict";
import { base, fitsWidth, login, phone } from "./browser.mjs";

test("a proposal is drawn on a map beside today's division with its moves", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "admin");
    // The first community and how many grids it has, as the grid API tells.
    const { community, grids } = await page.evaluate(async () => {
      const all = await (await fetch("/api/v1/grids.geojson", { credentials: "same-origin" })).json();
      const community = all.features[0].properties.community_id;
      const grids = all.features.filter((f) => f.properties.community_id === community).length;
      return { community, grids };
    });
    assert.ok(grids >= 2, `community ${community} has ${grids} grids`);
    await page.goto(`${base}/communities/${community}/redivision`);
    await page.selectOption("select[name=mode]", "rebalance");
    await page.fill("input[name=target_count]", String(grids - 1));
    await page.fill("input[name=min_households]", "100");
    await page.fill("input[name=max_households]", "2000");
    await Promise.all([
      page.waitForURL(new RegExp(`/communities/${community}/redivision/[0-9a-f-]{36}$`)),
      page.click("[data-testid=redivision-form] button[type=submit]"),
    ]);
    const proposed = page.locator("[data-testid=redivision-map] svg path.proposed-grid");
    await proposed.first().waitFor();
    assert.equal(await proposed.count(), grids - 1);
    assert.equal(await page.locator("[data-testid=redivision-map] svg path.today-grid").count(), grids);
    await page.locator("[data-testid=redivision-map] svg path.building.moved").first().waitFor();
    const rows = await page.locator("[data-testid=redivision-moves] tbody tr").count();
    assert.equal(await page.locator("[data-testid=redivision-map] svg path.building.moved").count(), rows);
    assert.equal(await page.locator(".leaflet-tile").count(), 0, "no tiles by default");
    const legend = await page.locator("[data-testid=redivision-legend]").innerText();
    assert.ok(legend.includes("应用方案时一并保存"), legend);
    assert.ok(await fitsWidth(page), "the proposal page fits the phone");
  } finally {
    await close();
  }
});

// The station picker: a tap on the map fills the new station's coordinates.
test("a tap on the station picker's map fills the coordinates", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "shequ1");
    await page.goto(`${base}/settings/stations`);
    await page.locator("[data-testid=station-map] svg path.grid-shape").first().waitFor();
    assert.equal(await page.inputValue("#station-lon"), "");
    await page.locator("[data-testid=station-map]").click();
    const lon = Number(await page.inputValue("#station-lon"));
    const lat = Number(await page.inputValue("#station-lat"));
    assert.ok(lon > 73 && lon < 136 && lat > 3 && lat < 54, `${lon}, ${lat} lies in China`);
    assert.ok(await fitsWidth(page), "the settings page fits the phone");
  } finally {
    await close();
  }
});
