import { test, expect, snapBoth, uniqueUser } from '../support/fixtures';
import { LoginPage, apiUser, signUp, waitForApp } from '../support/pages';

test('pay two beneficiaries once, see history, detail and what they received', async ({ page, mailbox, request, browser }, testInfo) => {
  const project = testInfo.project.name;
  const bob = await apiUser(request, mailbox, { ...uniqueUser('bob', project), name: 'Bob Beneficiary' });
  const cat = await apiUser(request, mailbox, { ...uniqueUser('cat', project), name: 'Cat Beneficiary' });
  const payer = await signUp(page, mailbox, 'payer', project);

  await page.getByRole('link', { name: 'Payments' }).click();
  await expect(page).toHaveURL(/\/payments$/);
  await expect(page.getByTestId('totals')).toHaveText('Nothing settled yet.');
  await page.getByRole('link', { name: 'New payment' }).click();
  await expect(page).toHaveURL(/\/payments\/new$/);
  await waitForApp(page, project);

  // A rule broken: explained next to the field, the rest kept.
  await page.locator('#amount').fill('12.345');
  await page.locator('#description').fill('Season support');
  await page.getByRole('button', { name: 'Pay' }).click();
  await expect(page.locator('#amount-error')).toHaveText('Use at most 2 decimal place(s) for this currency.');
  await expect(page.locator('#description')).toHaveValue('Season support');
  await snapBoth(page, 'payment-errors', project);

  // A beneficiary who does not exist, and one share too precise: each said next to its field.
  await page.locator('#amount').fill('30,00');
  await page.locator('#beneficiary_0_username').fill('nobody-of-that-name');
  await page.locator('#beneficiary_0_amount').fill('10.001');
  await page.getByRole('button', { name: 'Pay' }).click();
  await expect(page.locator('#beneficiary_0_username-error')).toHaveText('There is no user with this username.');
  await expect(page.locator('#beneficiary_0_amount-error')).toHaveText('Use at most 2 decimal place(s) for this currency.');
  await snapBoth(page, 'payment-beneficiary-errors', project);

  await page.locator('#amount').fill('30,00');
  await page.locator('#beneficiary_0_username').fill(bob.username);
  await page.locator('#beneficiary_0_amount').fill('10');
  await page.locator('#beneficiary_1_username').fill(cat.username);
  await page.locator('#beneficiary_1_amount').fill('5.50');
  await snapBoth(page, 'payment-new', project);
  // A double click: one payment.
  await page.getByRole('button', { name: 'Pay' }).dblclick();
  await expect(page).toHaveURL(/\/payments\/[0-9a-f-]{36}$/);
  const detail = page.getByTestId('payment-detail');
  await expect(detail.getByTestId('amount')).toHaveText('30.00 USD');
  await expect(detail.getByTestId('status')).toHaveText('Paid');
  await expect(detail.getByTestId('shares')).toContainText(`@${bob.username}10.00 USD`);
  await expect(detail.getByTestId('shares')).toContainText(`@${cat.username}5.50 USD`);
  await snapBoth(page, 'payment-detail', project);
  const paymentUrl = page.url();

  await page.goto('/payments');
  await expect(page.getByTestId('payment')).toHaveCount(1);
  await expect(page.getByTestId('totals')).toHaveText('Paid in total: 30.00 USD');
  await snapBoth(page, 'payments-sent', project);

  // Bob sees what he received, and the payment; a stranger does not.
  const bobContext = await browser.newContext({ baseURL: process.env.KEYHOLD_BASE_URL, javaScriptEnabled: project === 'js' });
  const bobPage = await bobContext.newPage();
  await new LoginPage(bobPage, project).open();
  await new LoginPage(bobPage, project).logIn(bob.username, bob.password);
  await expect(bobPage).toHaveURL(/\/profile/);
  await bobPage.goto('/payments?role=received');
  const received = bobPage.getByTestId('payment');
  await expect(received).toHaveCount(1);
  await expect(received).toContainText('10.00 USD');
  await expect(received).toContainText(`From @${payer.username}`);
  await expect(bobPage.getByTestId('totals')).toHaveText('Received in total: 10.00 USD');
  await snapBoth(bobPage, 'payments-received', project);
  await bobPage.goto(paymentUrl);
  await expect(bobPage.getByTestId('payment-detail')).toBeVisible();
  await expect(bobPage.getByRole('button', { name: 'Refund this payment' })).toHaveCount(0);
  await bobContext.close();

  // A stranger gets what any unknown address gets.
  const dan = await apiUser(request, mailbox, { ...uniqueUser('dan', project), name: 'Dan Stranger' });
  const danContext = await browser.newContext({ baseURL: process.env.KEYHOLD_BASE_URL, javaScriptEnabled: project === 'js' });
  const danPage = await danContext.newPage();
  await new LoginPage(danPage, project).open();
  await new LoginPage(danPage, project).logIn(dan.username, dan.password);
  await expect(danPage).toHaveURL(/\/profile/);
  const answer = await danPage.goto(paymentUrl);
  expect(answer?.status()).toBe(404);
  await expect(danPage.getByTestId('not-found')).toBeVisible();
  await expect(danPage.getByTestId('payment-detail')).toHaveCount(0);
  await danContext.close();

  // The payer's tabs: nothing received, then back to what was sent.
  await page.goto('/payments');
  await page.getByRole('link', { name: 'Received', exact: true }).click();
  await expect(page).toHaveURL(/role=received/);
  await expect(page.getByTestId('payment')).toHaveCount(0);
  await page.getByRole('link', { name: 'Sent', exact: true }).click();
  await expect(page.getByTestId('payment')).toHaveCount(1);

  // The payer refunds it.
  await page.goto(paymentUrl);
  await waitForApp(page, project);
  await page.getByRole('button', { name: 'Refund this payment' }).click();
  await expect(page.getByTestId('notice')).toHaveText('The payment is refunded.');
  await expect(page.getByTestId('status')).toHaveText('Refunded');
});
