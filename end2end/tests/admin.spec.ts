import { test, expect, snap, snapBoth, Mailbox, uniqueUser } from '../support/fixtures';
import { LoginPage, apiUser, signUp, waitForApp } from '../support/pages';
import { APIRequestContext } from '@playwright/test';

const INGEST = 'e2e-ingest-token-0123456789abcdef';

/** The project's admin (listed in ADMIN_EMAILS), registered through the API. */
function admin(request: APIRequestContext, mailbox: Mailbox, project: string) {
  const user = { ...uniqueUser('admin', project), name: 'On Call', email: `admin-${project}@example.com` };
  return apiUser(request, mailbox, user);
}

test('an admin sees the chart, groups and errors, reads one, and resolves a group', async ({ page, mailbox, request }, testInfo) => {
  const project = testInfo.project.name;
  const service = `shop-${project}`;
  for (let i = 0; i < 6; i++) {
    const res = await request.post('/api/errors', {
      headers: { authorization: `Bearer ${INGEST}` },
      data: {
        service, type: i % 3 === 0 ? 'timeout' : 'validation',
        message: i % 3 === 0 ? `Gateway timed out after ${i}0s` : `Field <b>email</b> invalid for order ${i}`,
        stack: `Error: boom\n    at checkout (cart.js:${i})`, userId: `user-${i}`, correlationId: `corr-${project}-${i}`,
        metadata: { endpoint: `/api/orders/${i}`, method: 'POST', ipAddress: '203.0.113.9' },
      },
    });
    expect(res.status()).toBe(201);
  }
  const user = await admin(request, mailbox, project);
  const login = new LoginPage(page, project);
  await login.open();
  await login.logIn(user.email, user.password);
  await expect(page).toHaveURL(/\/profile/);

  await page.goto(`/admin/errors?service=${service}`);
  await waitForApp(page, project);
  await expect(page.getByTestId('chart').locator('rect')).toHaveCount(2);
  await expect(page.getByTestId('groups').getByTestId('group')).toHaveCount(2);
  await expect(page.getByTestId('error-list').getByTestId('error')).toHaveCount(6);
  // Markup from records is shown as text, never run.
  await expect(page.getByTestId('error-list')).toContainText('Field <b>email</b> invalid for order 5');
  await snapBoth(page, 'admin-errors', project);

  await page.getByRole('link', { name: 'Field <b>email</b> invalid for order 4' }).click();
  await expect(page.getByTestId('admin-error')).toBeVisible();
  await expect(page.getByTestId('stack')).toHaveText('Error: boom\n    at checkout (cart.js:4)');
  await snapBoth(page, 'admin-error', project);
  // Its group: the alike errors (numbers folded), newest first.
  await page.getByRole('link', { name: 'Its group' }).click();
  await expect(page.getByTestId('admin-error-group')).toBeVisible();
  await expect(page.getByTestId('error-list').getByTestId('error')).toHaveCount(4);
  await expect(page.getByTestId('error-list').getByTestId('error').first()).toContainText('invalid for order 5');
  await snapBoth(page, 'admin-error-group', project);
  await page.goBack();
  await expect(page.getByTestId('admin-error')).toBeVisible();
  await page.getByRole('link', { name: 'Errors of the same request' }).click();
  await expect(page.getByTestId('error-list').getByTestId('error')).toHaveCount(1);

  await page.goto(`/admin/errors?service=${service}&type=timeout`);
  await waitForApp(page, project);
  const group = page.getByTestId('group');
  await expect(group).toHaveCount(1);
  await group.getByRole('button', { name: 'Resolve' }).click();
  await expect(page.getByTestId('group-state')).toHaveText('Resolved');
  await snapBoth(page, 'admin-group-resolved', project);

  // The monitoring panel, and a cache action behind a confirmation.
  await page.getByRole('link', { name: 'Monitoring' }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await waitForApp(page, project);
  await expect(page.getByTestId('admin-monitor')).toContainText('used_memory_human');
  await page.getByRole('button', { name: 'Drop all user cache entries' }).click();
  await expect(page.getByTestId('drop-all-error')).toContainText('Please correct');
  await page.getByLabel(/Yes, drop every user cache entry/).check();
  await page.getByRole('button', { name: 'Drop all user cache entries' }).click();
  await expect(page).toHaveURL(/\/admin\?dropped=\d+$/);
  await expect(page.getByTestId('notice')).toContainText('user cache entries dropped');
  await snapBoth(page, 'admin-monitor', project);

  // A group moved further down a long list comes back where it was, not at the top.
  const busy = `busy-${project}`;
  for (const word of ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel']) {
    const res = await request.post('/api/errors', {
      headers: { authorization: `Bearer ${INGEST}` },
      data: { service: busy, type: 'lookup', message: `Lookup of ${word} failed` },
    });
    expect(res.status()).toBe(201);
  }
  await page.setViewportSize({ width: 390, height: 640 });
  await page.goto(`/admin/errors?service=${busy}`);
  await waitForApp(page, project);
  const groups = page.getByTestId('groups').getByTestId('group');
  await expect(groups).toHaveCount(8);
  const id = await groups.last().getAttribute('id');
  await groups.last().getByRole('button', { name: 'Resolve' }).click();
  const moved = page.locator(`[id="${id}"]`);
  await expect(moved.getByTestId('group-state')).toHaveText('Resolved');
  await expect(moved).toBeInViewport();
  expect(await page.evaluate(() => window.scrollY)).toBeGreaterThan(0);
  await snap(page, 'admin-group-resolved-in-place', project);
});

test('a signed-in non-admin is refused the dashboard', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  await signUp(page, mailbox, 'notadmin', project);
  await page.goto('/admin/errors');
  await expect(page.getByTestId('admin-refused')).toContainText('Admins only');
  await snap(page, 'admin-refused', project);
});
