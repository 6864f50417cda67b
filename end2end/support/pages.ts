// Page objects: what a person does on each page, by label and test id.
import { APIRequestContext, Page, expect } from '@playwright/test';
import { Mailbox, uniqueUser } from './fixtures';

export async function waitForApp(page: Page, project: string) {
  if (project === 'js') await expect(page.locator('body')).toHaveAttribute('data-hydrated', 'true');
}

export class RegisterPage {
  constructor(private readonly page: Page, private readonly project: string) {}

  async open() {
    await this.page.goto('/register');
    await waitForApp(this.page, this.project);
  }

  async fill(user: { name: string; username: string; email: string; password: string }) {
    await this.page.locator('#name').fill(user.name);
    await this.page.locator('#username').fill(user.username);
    await this.page.locator('#email').fill(user.email);
    await this.page.locator('#password').fill(user.password);
  }

  async submit() {
    await this.page.getByTestId('register-submit').click();
  }
}

export class VerifyPage {
  constructor(private readonly page: Page, private readonly project: string) {}

  async expectLoaded() {
    await expect(this.page).toHaveURL(/\/verify\?email=/);
    await waitForApp(this.page, this.project);
  }

  async enter(code: string) {
    await this.page.getByLabel('Verification code').fill(code);
    await this.page.getByRole('button', { name: 'Verify' }).click();
  }

  async resend() {
    await this.page.getByTestId('resend').click();
  }
}

export class LoginPage {
  constructor(private readonly page: Page, private readonly project: string) {}

  async open() {
    await this.page.goto('/login');
    await waitForApp(this.page, this.project);
  }

  async logIn(identifier: string, password: string) {
    await this.page.getByLabel('Email or username').fill(identifier);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Log in' }).click();
  }
}

/** Sends the registration form for a fresh user; leaves `page` on /verify. */
export async function startRegistration(page: Page, prefix: string, project: string) {
  const user = uniqueUser(prefix, project);
  const register = new RegisterPage(page, project);
  await register.open();
  await register.fill(user);
  await register.submit();
  const verify = new VerifyPage(page, project);
  await verify.expectLoaded();
  return { user, verify };
}

/** Registers and verifies a fresh account; leaves `page` logged in on /profile. */
export async function signUp(page: Page, mailbox: Mailbox, prefix: string, project: string) {
  const { user, verify } = await startRegistration(page, prefix, project);
  await verify.enter(Mailbox.code(await mailbox.latest(user.email)));
  await expect(page).toHaveURL(/\/profile/);
  return user;
}

/** An account made through the JSON API (the code read from the mail sink). */
export async function apiUser(
  request: APIRequestContext,
  mailbox: Mailbox,
  user: { name: string; username: string; email: string; password: string },
) {
  const data = { name: user.name, email: user.email, phone: '5551234567', password: user.password, username: user.username };
  const sent = await request.post('/api/email/send-code', {
    data: { email: user.email, purpose: 'finish_registration', delivery_method: 'email', registration_data: data },
  });
  expect(sent.status()).toBe(200);
  const code = Mailbox.code(await mailbox.latest(user.email));
  const done = await request.post('/api/email/complete-registration', { data: { email: user.email, code } });
  expect(done.status()).toBe(200);
  return user;
}
