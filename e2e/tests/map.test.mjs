// The map on a phone: the grids are drawn by Leaflet as SVG paths with no tiles, the
// measure can be switched, and a tap on a grid opens its panel from the API.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fitsWidth, login, phone } from "./browser.mjs";

test("the map draws the grids and a click opens a grid's panel", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "admin");
    await page.click("a[data-testid=nav-map]");
    await page.waitForURL(/\/map/);
    const grids = page.locator("#map svg path.grid-shape");
    await grids.first().waitFor();
    // The demo district has 27 grids, each a polygon with a boundary.
    assert.equal(await grids.count(), 27);
    // Buildings, requests and stations come from a second request (/api/v1/map/layers):
    // wait for them rather than racing the grids.
    await page.locator("#map svg path.building").first().waitFor();
    assert.equal(await page.locator(".leaflet-tile").count(), 0, "no tiles by default");
    assert.ok((await page.locator("[data-testid=map-legend]").innerText()).includes("户数"));

    await page.selectOption("[data-testid=map-measure]", "score");
    assert.ok((await page.locator("[data-testid=map-legend]").innerText()).includes("四维评分"));

    // Markers may sit on a grid's middle: send the click to the grid's path itself.
    await grids.nth(3).dispatchEvent("click");
    const panel = page.locator("[data-testid=map-panel]");
    await panel.waitFor({ state: "visible" });
    await page.locator("[data-testid=map-advice]").waitFor();
    const text = await panel.innerText();
    for (const label of ["户数", "居民", "特殊群体", "网格员", "未办结诉求", "四维评分"]) {
      assert.ok(text.includes(label), `the panel shows ${label}: ${text}`);
    }
    assert.ok(/第\d+网格/.test(text), text);

    await page.check("[data-testid=map-show-circle]");
    await page.waitForFunction(() => document.getElementById("map-circle-summary").textContent.length > 0);
    assert.ok((await page.locator("#map-circle-summary").innerText()).includes("已覆盖"));
    assert.ok(await fitsWidth(page), "the map page fits the phone");
  } finally {
    await close();
  }
});
