import { test, expect, snap, uniqueUser } from '../support/fixtures';
import { RegisterPage, VerifyPage, LoginPage, waitForApp } from '../support/pages';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The code of the newest text message to `phone` in the server's outbox. */
async function textedCode(phone: string): Promise<string> {
  const dir = process.env.KEYHOLD_OUTBOX_DIR ?? '';
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const texts = readdirSync(dir, { withFileTypes: true })
      .filter((f) => f.name.startsWith('sms-'))
      .map((f) => readFileSync(path.join(dir, f.name), 'utf8'))
      .filter((t) => t.includes(phone));
    const match = texts.length ? /code is (\d{6})/.exec(texts[texts.length - 1]) : null;
    if (match) return match[1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no text to ${phone}`);
}

test('an SMS registration confirms its address through the emailed link', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  const user = uniqueUser('sms', project);
  const phone = `+1555${Math.floor(1e6 + Math.random() * 8e6)}`;
  const register = new RegisterPage(page, project);
  await register.open();
  await register.fill(user);
  await page.locator('#phone').fill(phone);
  await page.getByLabel('SMS').check();
  await register.submit();
  const verify = new VerifyPage(page, project);
  await verify.expectLoaded();
  await verify.enter(await textedCode(phone));
  await expect(page).toHaveURL(/\/profile/);
  await expect(page.getByTestId('email-unconfirmed')).toBeVisible();
  await snap(page, 'profile-unconfirmed', project);
  await page.setViewportSize({ width: 360, height: 740 });
  await snap(page, 'profile-unconfirmed-phone', project);
  await page.setViewportSize({ width: 1280, height: 720 });

  // The address does not log in until it is confirmed.
  await page.getByRole('button', { name: 'Log out' }).click();
  const login = new LoginPage(page, project);
  await login.open();
  await login.logIn(user.email, user.password);
  await expect(page.getByTestId('form-error')).toHaveText('The email/username or password is not right.');

  const mail = await mailbox.latest(user.email);
  expect(mail.subject).toBe('Confirm your address for Keyhold');
  const link = /(http:\/\/\S+\/confirm-email\?token=\w+)/.exec(mail.text)?.[1];
  expect(link, mail.text).toBeTruthy();
  await page.goto(new URL(link!).pathname + new URL(link!).search);
  await waitForApp(page, project);
  await page.getByRole('button', { name: 'Confirm my address' }).click();
  await expect(page).toHaveURL(/\/login\?confirmed=1/);
  await expect(page.getByTestId('notice')).toHaveText('Your address is confirmed. You can now log in with it.');
  await snap(page, 'login-confirmed', project);
  await waitForApp(page, project);
  await login.logIn(user.email, user.password);
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId('email-unconfirmed')).toHaveCount(0);
});

test('the changed pages hold together on a phone', async ({ page }, testInfo) => {
  const project = testInfo.project.name;
  await page.setViewportSize({ width: 360, height: 740 });
  for (const [name, url] of [
    ['register', '/register'],
    ['login', '/login?confirmed=1'],
    ['confirm-email', '/confirm-email?token=abc'],
    ['reset-password-link', '/reset-password?email=ann%40example.com&token=abc'],
  ]) {
    await page.goto(url);
    await waitForApp(page, project);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
    expect(overflow, name).toBe(false);
    await snap(page, `${name}-phone`, project);
  }
});
