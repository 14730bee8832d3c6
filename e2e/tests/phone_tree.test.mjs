// A grid worker on a phone logs in, walks the tree from their grid down to a household,
// sees its members with masked ID numbers, and logs out.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { base, fitsWidth, login, phone } from "./browser.mjs";

test("a grid worker walks the tree to a household on a phone", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "wangge01");
    assert.ok(await fitsWidth(page), "home fits the phone");
    await page.click("a[data-testid=my-scope]");
    for (let clicks = 0; clicks < 6 && !/\/households\//.test(page.url()); clicks++) {
      assert.ok(await fitsWidth(page), `${page.url()} fits the phone`);
      await Promise.all([page.waitForLoadState("load"), page.locator("a[data-testid=node-link]").first().click()]);
      await page.waitForLoadState("load");
    }
    assert.match(page.url(), /\/households\/[0-9a-f-]{36}$/);
    assert.ok(await fitsWidth(page), "household page fits the phone");
    assert.ok((await page.locator("h1").innerText()).length > 0);
    const rows = await page.locator("[data-testid=member-row]").count();
    assert.ok(rows >= 1, "at least one member");
    const firstId = await page.locator("[data-testid=id-number]").first().innerText();
    assert.match(firstId, /\*/, "ID numbers are masked");
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/household-phone.png", fullPage: true });

    await Promise.all([page.waitForURL(/\/login$/), page.click("form[data-testid=logout] button")]);
    await page.goto(`${base}/`);
    assert.match(page.url(), /\/login$/, "logged out");
  } finally {
    await close();
  }
});

test("the language switch changes the page to English and back", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "wangge01");
    await page.click("a[data-testid=lang-en]");
    await page.waitForLoadState("load");
    assert.equal(await page.evaluate(() => document.documentElement.lang), "en");
    await page.click("a[data-testid=lang-zh]");
    await page.waitForLoadState("load");
    assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");
  } finally {
    await close();
  }
});

test("a grid worker reveals a resident's full ID number with htmx", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "wangge01");
    await page.click("a[data-testid=my-scope]");
    for (let clicks = 0; clicks < 6 && !/\/households\//.test(page.url()); clicks++) {
      await Promise.all([page.waitForLoadState("load"), page.locator("a[data-testid=node-link]").first().click()]);
      await page.waitForLoadState("load");
    }
    await page.locator("[data-testid=member-row] a").first().click();
    await page.waitForLoadState("load");
    assert.match(await page.locator("[data-testid=id-number]").innerText(), /\*/);
    await page.click("form[data-testid=reveal] button");
    await page.locator("[data-testid=revealed]").waitFor();
    assert.match(await page.locator("[data-testid=id-number]").innerText(), /^\d{17}[\dX]$/);
    assert.ok(await fitsWidth(page));
  } finally {
    await close();
  }
});
