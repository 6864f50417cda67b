// Test fixtures: the server's base URL and the mail sink.
import { test as base, expect, Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

export interface Mail {
  to: { address: string }[];
  subject: string;
  text: string;
  date: string;
}

export class Mailbox {
  constructor(private readonly url: string) {}

  /** The newest mail to `address`, waiting up to 10 s for `count` mails. */
  async latest(address: string, count = 1): Promise<Mail> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const res = await fetch(`${this.url}/email`);
      const all = (await res.json()) as Mail[];
      const mine = all.filter((m) => m.to.some((t) => t.address.toLowerCase() === address.toLowerCase()));
      if (mine.length >= count) return mine[mine.length - 1];
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no mail #${count} for ${address}`);
  }

  static code(mail: Mail): string {
    const match = /code is (\d{6})/.exec(mail.text);
    if (!match) throw new Error(`no code in: ${mail.text}`);
    return match[1];
  }

  static link(mail: Mail): string {
    const match = /(http:\/\/\S+\/verify\/link\?\S+)/.exec(mail.text);
    if (!match) throw new Error(`no link in: ${mail.text}`);
    return match[1];
  }
}

/** A unique address and username for one test. */
export function uniqueUser(prefix: string, project: string) {
  const tag = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const username = `${prefix}-${project}-${tag}`.slice(0, 32);
  return { name: 'Ada Lovelace', username, email: `${username}@example.com`, password: 'analytical engine 1843' };
}

/** Saves a full-page screenshot under end2end/screenshots/. */
export async function snap(page: Page, name: string, project: string) {
  const dir = path.join(__dirname, '..', 'screenshots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}-${project}.png`), fullPage: true });
}

/** Full-page screenshots at desktop width and at 360 px. */
export async function snapBoth(page: Page, name: string, project: string) {
  await snap(page, name, project);
  const desktop = page.viewportSize();
  await page.setViewportSize({ width: 360, height: 740 });
  await snap(page, `${name}-360`, project);
  if (desktop) await page.setViewportSize(desktop);
}

export const test = base.extend<{ mailbox: Mailbox }>({
  baseURL: async ({}, use) => {
    const url = process.env.KEYHOLD_BASE_URL;
    if (!url) throw new Error('KEYHOLD_BASE_URL is not set: run through playwright.config.ts');
    await use(url);
  },
  mailbox: async ({}, use) => {
    await use(new Mailbox(process.env.MAILDEV_URL ?? ''));
  },
});

export { expect };
