import { test, expect, snap } from '../support/fixtures';
import type { Page } from '@playwright/test';

test('the home page loads, and hydrates when JavaScript is on', async ({ page }, testInfo) => {
  const project = testInfo.project.name;
  const res = await page.goto('/');
  expect(res?.status()).toBe(200);
  await expect(page).toHaveTitle('Keyhold');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('Your account, kept safe.');
  await expect(page.getByTestId('nav-signed-out')).toBeVisible();
  if (project === 'js') {
    await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  } else {
    await expect(page.locator('body')).not.toHaveAttribute('data-hydrated', 'true');
  }
  await snap(page, 'home', project);
});

test('the home page holds together on a phone', async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto('/');
  await expect(page.getByRole('link', { name: 'Create an account' })).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  expect(overflow).toBe(false);
  await snap(page, 'home-phone', testInfo.project.name);
});

test('unknown pages answer 404 with a way home', async ({ page }, testInfo) => {
  const res = await page.goto('/no/such/page');
  expect(res?.status()).toBe(404);
  await expect(page.getByTestId('not-found')).toContainText('We could not find that page');
  await snap(page, 'not-found', testInfo.project.name);
});

test('pages follow the dark colour scheme', async ({ page }, testInfo) => {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto('/register');
  const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  expect(background).toBe('rgb(15, 17, 23)');
  await snap(page, 'register-dark', testInfo.project.name);
});

/** Holds every request for the app's wasm until the returned function is called. */
async function holdWasm(page: Page): Promise<() => void> {
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  await page.route(/\.wasm$/, async (route) => {
    await released;
    // A request of a page navigated away from is gone by then.
    await route.continue().catch(() => {});
  });
  return release;
}

test('what is typed before the page hydrates is kept', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === 'nojs', 'without JavaScript there is no hydration');
  // Hold the app's wasm back until the fields have been typed into, as a slow
  // link would.
  const release = await holdWasm(page);
  await page.goto('/login', { waitUntil: 'domcontentloaded' });
  await page.locator('#identifier').fill('early@example.com');
  await page.locator('#password').fill('typed before hydration');
  release();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  await expect(page.locator('#identifier')).toHaveValue('early@example.com');
  await expect(page.locator('#password')).toHaveValue('typed before hydration');
});

test('a form sent before the page hydrates keeps its errors live', async ({ page }, testInfo) => {
  test.skip(testInfo.project.name === 'nojs', 'without JavaScript there is no hydration');
  // The wasm is held back: the form goes as a plain post, and its errors come
  // back in the URL. Once the islands load they must hold the same errors.
  const release = await holdWasm(page);
  await page.goto('/register', { waitUntil: 'domcontentloaded' });
  await page.locator('#name').fill('Ada Early');
  await page.locator('#username').fill('ada_early');
  await page.locator('#email').fill('not-an-email');
  await page.locator('#password').fill('a long enough passphrase');
  await page.getByTestId('register-submit').click();
  await expect(page.locator('#email-error')).toHaveText('Enter a valid email address, like name@example.com.');
  release();
  await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
  // Editing the field clears its message: the island knows the error.
  await page.locator('#email').fill('ada@example.com');
  await expect(page.locator('#email-error')).toBeHidden();
});
