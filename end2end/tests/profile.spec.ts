import { test, expect, snap, Mailbox } from '../support/fixtures';
import { LoginPage, signUp, waitForApp } from '../support/pages';
import { Browser, Page } from '@playwright/test';

test('edit the profile: a bad value is explained, a good one is saved', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  await signUp(page, mailbox, 'prof', project);
  await waitForApp(page, project);
  // A second plain visit gets the card the first one rendered (the server
  // remembers it while the profile is unchanged): its form works the same.
  await page.goto('/profile');
  await waitForApp(page, project);

  await page.locator('#name').fill('Ada King');
  await page.locator('#phone').fill('12ab');
  await page.locator('#agency').fill('12');
  await page.locator('#account_number').fill('12345-6');
  await page.getByRole('button', { name: 'Save profile' }).click();
  await expect(page.locator('#phone-error')).toHaveText(
    'Enter a phone number of 7 to 15 digits, optionally starting with +.',
  );
  await expect(page.locator('#agency-error')).toContainText('Enter the branch as 3 to 5 digits');
  await snap(page, 'profile-errors', project);

  await page.locator('#phone').fill('+55 11 98765-4321');
  await page.locator('#agency').fill('0001');
  await page.locator('#account_number').fill('12345-6');
  await page.locator('#address').fill('Rua das Flores, 100');
  await page.locator('#language').selectOption('pt-BR');
  await page.getByLabel('Email me product news (about once a month)').check();
  await page.getByRole('button', { name: 'Save profile' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Your profile is saved.');
  await expect(page.locator('h1')).toHaveText('Ada King');
  await expect(page.getByTestId('nav-avatar')).toHaveText('AK');
  await expect(page.locator('#phone')).toHaveValue('+5511987654321');
  await expect(page.locator('#agency')).toHaveValue('0001');
  await expect(page.locator('#account_number-hint')).toHaveText('Ends in •••45-6. Leave blank to keep it.');
  await expect(page.locator('#language')).toHaveValue('pt-BR');
  await snap(page, 'profile-saved', project);
});

test('forgot password: a code by email sets a new password', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  const user = await signUp(page, mailbox, 'forgot', project);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByTestId('nav-signed-out')).toBeVisible();

  await new LoginPage(page, project).open();
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await expect(page).toHaveURL(/\/forgot-password$/);
  await waitForApp(page, project);
  await snap(page, 'forgot-password', project);
  await page.locator('#email').fill(user.email);
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await expect(page).toHaveURL(/\/reset-password\?email=/);
  await waitForApp(page, project);
  await expect(page.getByTestId('notice')).toContainText('a 6-digit code is on its way');

  const mail = await mailbox.latest(user.email, 2);
  expect(mail.subject).toBe('Reset your Keyhold password');
  const newPassword = 'a completely new secret';
  await page.locator('#code').fill(Mailbox.code(mail));
  await page.locator('#new_password').fill(newPassword);
  await page.locator('#confirm_password').fill(newPassword);
  await snap(page, 'reset-password', project);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page).toHaveURL(/\/profile\?reset=1/);
  await expect(page.getByTestId('notice')).toHaveText('Your new password is set, and you are logged in.');

  await page.getByRole('button', { name: 'Log out' }).click();
  const login = new LoginPage(page, project);
  await login.open();
  await login.logIn(user.email, user.password);
  await expect(page.getByTestId('form-error')).toHaveText('The email/username or password is not right.');
  await login.logIn(user.email, newPassword);
  await expect(page).toHaveURL(/\/profile$/);
});

async function secondSession(browser: Browser, project: string, baseURL: string, who: { email: string; password: string }) {
  const context = await browser.newContext({ baseURL, javaScriptEnabled: project === 'js' });
  const page = await context.newPage();
  const login = new LoginPage(page, project);
  await login.open();
  await login.logIn(who.email, who.password);
  await expect(page).toHaveURL(/\/profile$/);
  return { context, page };
}

test('changing the password logs out older sessions', async ({ page, mailbox, browser, baseURL }, testInfo) => {
  const project = testInfo.project.name;
  const user = await signUp(page, mailbox, 'change', project);
  const other = await secondSession(browser, project, baseURL!, user);

  await page.goto('/change-password');
  await waitForApp(page, project);
  await page.locator('#current_password').fill(user.password);
  await page.getByRole('button', { name: 'Email me a code' }).click();
  await expect(page.getByTestId('notice')).toContainText('We emailed you a 6-digit code');
  const mail = await mailbox.latest(user.email, 2);
  expect(mail.subject).toBe('Confirm your new Keyhold password');
  const newPassword = 'yet another passphrase';
  await page.locator('#code').fill(Mailbox.code(mail));
  await page.locator('#new_password').fill(newPassword);
  await page.locator('#confirm_password').fill(newPassword);
  await snap(page, 'change-password', project);
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page).toHaveURL(/\/profile\?changed=1/);
  await expect(page.getByTestId('notice')).toContainText('Your password is changed.');

  // The older session is gone: its next page sends it to login.
  await other.page.goto('/profile');
  await expect(other.page).toHaveURL(/\/login\?next=%2Fprofile/);
  await expect(other.page.getByTestId('nav-signed-out')).toBeVisible();
  await other.context.close();

  // This one carries on.
  await page.goto('/profile');
  await expect(page.getByTestId('profile-username')).toHaveText(`@${user.username}`);
});

test('forgot password: the emailed link sets a new password without the code', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  const user = await signUp(page, mailbox, 'resetlink', project);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByTestId('nav-signed-out')).toBeVisible();

  await page.goto('/forgot-password');
  await waitForApp(page, project);
  await page.locator('#email').fill(user.email);
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await expect(page).toHaveURL(/\/reset-password\?email=/);

  const mail = await mailbox.latest(user.email, 2);
  const link = /(http:\/\/\S+\/reset-password\?\S+token=\w+)/.exec(mail.text)?.[1];
  expect(link, mail.text).toBeTruthy();
  await page.goto(new URL(link!).pathname + new URL(link!).search);
  await waitForApp(page, project);
  await expect(page.locator('#code')).toHaveCount(0);
  const newPassword = 'a password set by link';
  await page.locator('#new_password').fill(newPassword);
  await page.locator('#confirm_password').fill(newPassword);
  await snap(page, 'reset-password-link', project);
  await page.getByRole('button', { name: 'Set new password' }).click();
  await expect(page).toHaveURL(/\/profile\?reset=1/);
  await expect(page.getByTestId('notice')).toHaveText('Your new password is set, and you are logged in.');
});

test('a stale address-confirmation link says so', async ({ page }, testInfo) => {
  const project = testInfo.project.name;
  await page.goto('/confirm-email?token=nosuchtoken');
  await waitForApp(page, project);
  await snap(page, 'confirm-email', project);
  await page.getByRole('button', { name: 'Confirm my address' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('This link has expired or was already used. Ask for a new one.');
});
