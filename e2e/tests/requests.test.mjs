// Requests in the browser, on a phone: a resident reports a problem; a grid worker takes a
// problem found on patrol, signs for it, goes on site and solves it; community staff verify
// it and record the resident's rating from the revisit call.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { fitsWidth, login, phone } from "./browser.mjs";

async function act(page, action, fill) {
  const form = page.locator(`form.action:has(button[data-testid=action-${action}])`);
  if (fill) await fill(form);
  await Promise.all([page.waitForLoadState("load"), form.locator("button").click()]);
  await page.waitForLoadState("load");
}

test("a resident reports a problem from a phone", async () => {
  const { page, close } = await phone();
  try {
    await login(page, "jumin");
    await page.click("a[data-testid=nav-requests]");
    await page.click("a[data-testid=new-request]");
    assert.ok(await fitsWidth(page), "the form fits the phone");
    await page.selectOption("select[name=service_code]", "noise");
    await page.fill("textarea[name=description]", "楼上深夜装修，噪音扰民");
    await Promise.all([page.waitForURL(/\/requests\/[0-9a-f-]{36}$/), page.click("form[data-testid=request-form] button")]);
    assert.equal(await page.locator("[data-testid=request-status]").innerText(), "已派单");
    assert.ok(await fitsWidth(page), "the request page fits the phone");
    await page.click("a[data-testid=nav-requests]");
    assert.ok((await page.locator("[data-testid=request-row]").count()) >= 1);
  } finally {
    await close();
  }
});

test("submit, handle and rate a request", async () => {
  const worker = await phone();
  let url;
  try {
    const page = worker.page;
    await login(page, "wangge01");
    await page.goto(new URL("/requests/new", page.url()).href);
    await page.selectOption("select[name=service_code]", "sanitation");
    await page.fill("textarea[name=description]", "3号楼门前垃圾堆放");
    await Promise.all([page.waitForURL(/\/requests\/[0-9a-f-]{36}$/), page.click("form[data-testid=request-form] button")]);
    url = page.url();
    // The countdown runs in the page (data-due → text).
    await page.locator(".countdown").first().waitFor();
    await page.waitForFunction(() => document.querySelector(".countdown")?.textContent.trim().length > 0);
    await act(page, "sign_for");
    assert.equal(await page.locator("[data-testid=request-status]").innerText(), "已签收");
    await act(page, "arrive");
    await act(page, "solve", (form) => form.locator("input[name=note]").fill("已清运"));
    assert.equal(await page.locator("[data-testid=request-status]").innerText(), "已办结");
    assert.ok(await fitsWidth(page));
  } finally {
    await worker.close();
  }
  const staff = await phone();
  try {
    const page = staff.page;
    await login(page, "shequ1");
    await page.goto(url);
    await act(page, "verify");
    assert.equal(await page.locator("[data-testid=request-status]").innerText(), "已核查");
    await act(page, "rate", async (form) => {
      await form.locator("select[name=stars]").selectOption("5");
      await form.locator("input[name=note]").fill("电话回访：居民满意");
    });
    assert.equal(await page.locator("[data-testid=request-status]").innerText(), "已关闭");
    assert.equal(await page.locator("[data-testid=rating]").innerText(), "5★");
    const steps = await page.locator("[data-testid=timeline] li").count();
    assert.equal(steps, 7, "received, dispatched, signed for, on site, solved, verified, rated");
    mkdirSync("test-results", { recursive: true });
    await page.screenshot({ path: "test-results/request-phone.png", fullPage: true });
  } finally {
    await staff.close();
  }
});
