import { test, expect, snap, uniqueUser, Mailbox } from '../support/fixtures';
import { LoginPage, RegisterPage, VerifyPage, signUp, startRegistration, waitForApp } from '../support/pages';

test('register, verify with the emailed code, log out and log in again', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  const user = uniqueUser('ada', project);
  const register = new RegisterPage(page, project);
  await register.open();
  await snap(page, 'register', project);
  await register.fill(user);
  await register.submit();

  const verify = new VerifyPage(page, project);
  await verify.expectLoaded();
  await expect(page.getByTestId('verify-email')).toHaveText(user.email);
  await snap(page, 'verify', project);

  const mail = await mailbox.latest(user.email);
  expect(mail.subject).toBe('Your Keyhold verification code');
  await verify.enter(Mailbox.code(mail));

  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId('profile-username')).toHaveText(`@${user.username}`);
  await expect(page.getByTestId('nav-signed-in')).toBeVisible();
  await snap(page, 'profile', project);

  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page).toHaveURL(/\/$/);
  await expect(page.getByTestId('nav-signed-out')).toBeVisible();

  const login = new LoginPage(page, project);
  await login.open();
  await snap(page, 'login', project);
  await login.logIn(user.username, user.password);
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId('profile-username')).toHaveText(`@${user.username}`);
});

test('a wrong code says how many attempts are left', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  const { user, verify } = await startRegistration(page, 'wrong', project);
  const code = Mailbox.code(await mailbox.latest(user.email));
  const wrong = code === '000000' ? '111111' : '000000';
  await verify.enter(wrong);
  await expect(page.getByTestId('form-error')).toHaveText('That code is not right. 4 attempt(s) left.');
  await snap(page, 'verify-wrong-code', project);
  await verify.enter(code);
  await expect(page).toHaveURL(/\/profile$/);
});

test('a new code can be requested, and only it works', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  const { user, verify } = await startRegistration(page, 'resend', project);
  const first = Mailbox.code(await mailbox.latest(user.email));

  await page.waitForTimeout(2_200); // the test server's resend cooldown is 2 s
  if (project === 'js') {
    await expect(page.getByTestId('resend')).toBeEnabled();
  }
  await verify.resend();
  await expect(page.getByTestId('notice')).toHaveText('We sent you a new code. Earlier codes no longer work.');
  const second = Mailbox.code(await mailbox.latest(user.email, 2));
  await snap(page, 'verify-resent', project);

  if (first !== second) {
    await verify.enter(first);
    await expect(page.getByTestId('form-error')).toContainText('That code is not right.');
  }
  await verify.enter(second);
  await expect(page).toHaveURL(/\/profile$/);
});

test('the magic link completes the registration', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  const { user } = await startRegistration(page, 'link', project);

  const link = Mailbox.link(await mailbox.latest(user.email));
  await page.goto(link);
  await waitForApp(page, project);
  await snap(page, 'confirm-link', project);
  await page.getByRole('button', { name: 'Confirm and log in' }).click();
  await expect(page).toHaveURL(/\/profile$/);
  await expect(page.getByTestId('profile-username')).toHaveText(`@${user.username}`);
});

test('bad input is explained next to each field', async ({ page }, testInfo) => {
  const project = testInfo.project.name;
  const register = new RegisterPage(page, project);
  await register.open();
  await register.fill({ name: 'Ada', username: 'x', email: 'not-an-email', password: 'password' });
  if (project === 'js') {
    // The live check has its say first…
    await expect(page.getByTestId('username-status')).toHaveText('Use at least 3 characters.');
  }
  await register.submit();
  await expect(page.locator('#email-error')).toHaveText('Enter a valid email address, like name@example.com.');
  await expect(page.locator('#username-error')).toHaveText('Use at least 3 characters.');
  // …then the field's error takes over: the message shows once.
  await expect(page.getByText('Use at least 3 characters.', { exact: true })).toHaveCount(1);
  await expect(page.locator('#password-error')).toHaveText(
    'This password is too common. Choose one that is harder to guess.',
  );
  await expect(page.locator('#name')).toHaveValue('Ada');
  await snap(page, 'register-errors', project);
});

test('the username check tells whether a name is free', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  // Make an account whose username is then taken.
  const owner = await signUp(page, mailbox, 'own', project);
  await page.getByRole('button', { name: 'Log out' }).click();
  await expect(page.getByTestId('nav-signed-out')).toBeVisible();

  const register = new RegisterPage(page, project);
  await register.open();
  await page.locator('#username').fill(owner.username);
  if (project === 'js') {
    // Live, as you type.
    await expect(page.getByTestId('username-status')).toHaveText(`✗ @${owner.username} is taken`);
  } else {
    await page.getByTestId('check-username').click();
    await expect(page.getByTestId('username-status')).toHaveText(`✗ @${owner.username} is taken`);
    await expect(page.locator('#username')).toHaveValue(owner.username);
  }
  const free = `${owner.username.slice(0, 26)}-free`;
  await page.locator('#username').fill(free);
  if (project === 'nojs') await page.getByTestId('check-username').click();
  await expect(page.getByTestId('username-status')).toHaveText(`✓ @${free} is available`);
  await snap(page, 'register-username-check', project);
});
