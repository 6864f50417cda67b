import { test, expect, snapBoth } from '../support/fixtures';
import { signUp, waitForApp } from '../support/pages';
import { Page } from '@playwright/test';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const avatar = readFileSync(path.join(__dirname, '..', 'fixtures', 'avatar.png'));

/** A text file of `size` bytes. */
function textFile(name: string, size: number) {
  return { name, mimeType: 'text/plain', buffer: Buffer.alloc(size, 'keyhold ') };
}

async function chooseAndSend(page: Page, project: string, files: Parameters<Page['setInputFiles']>[1]) {
  await page.getByTestId('file-input').setInputFiles(files);
  // With JavaScript choosing starts the upload; without, the form is sent.
  if (project === 'nojs') await page.getByRole('button', { name: 'Upload', exact: true }).click();
}

test('upload files, see them listed, download and delete them', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  await signUp(page, mailbox, 'files', project);
  await page.getByRole('link', { name: 'Files', exact: true }).click();
  await expect(page).toHaveURL(/\/uploads$/);
  await waitForApp(page, project);
  await expect(page.getByTestId('no-files')).toBeVisible();
  await snapBoth(page, 'uploads-empty', project);

  const notes = textFile('meeting notes.txt', 300 * 1024);
  await chooseAndSend(page, project, [notes, textFile('todo.txt', 12)]);
  if (project === 'js') {
    const rows = page.getByTestId('upload-row');
    await expect(rows).toHaveCount(2);
    await expect(rows.getByTestId('upload-status')).toHaveText(['Uploaded', 'Uploaded']);
    // The bar ends full: bytes sent = file size.
    const bar = rows.filter({ hasText: 'meeting notes.txt' }).locator('progress');
    await expect(bar).toHaveAttribute('max', String(notes.buffer.length));
    await expect(bar).toHaveJSProperty('value', notes.buffer.length);
  } else {
    await expect(page).toHaveURL(/\/uploads\?done=uploaded-2$/);
    await expect(page.getByTestId('notice')).toHaveText('2 files are uploaded.');
  }
  const list = page.getByTestId('file');
  await expect(list).toHaveCount(2);
  const notesRow = list.filter({ hasText: 'meeting notes.txt' });
  await expect(notesRow).toContainText('300.0 KB · text/plain');
  await expect(list.filter({ hasText: 'todo.txt' })).toContainText('12 B · text/plain');
  await expect(page.getByTestId('usage')).toContainText('300.0 KB of 100.0 MB used');
  await snapBoth(page, 'uploads-listed', project);

  const [download] = await Promise.all([
    page.waitForEvent('download'),
    notesRow.getByRole('link', { name: 'Download' }).click(),
  ]);
  expect(download.suggestedFilename()).toBe('meeting notes.txt');
  expect(readFileSync(await download.path()).equals(notes.buffer)).toBe(true);

  await page.getByRole('button', { name: 'Delete todo.txt' }).click();
  await expect(page).toHaveURL(/\/uploads\?done=deleted$/);
  await expect(page.getByTestId('notice')).toHaveText('The file is deleted.');
  await expect(page.getByTestId('file')).toHaveCount(1);
  await snapBoth(page, 'uploads-deleted', project);

  // One more next to a stored file: it lists first (with JavaScript, above the stored ones).
  await chooseAndSend(page, project, [textFile('later.txt', 5)]);
  await expect(page.getByTestId('file')).toHaveCount(2);
  await expect(page.getByTestId('file').first()).toContainText('later.txt');
  await expect(page.getByTestId('no-files')).toBeHidden();
  await snapBoth(page, 'uploads-added', project);
});

test('files dropped on the page upload like chosen ones', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  test.skip(project === 'nojs', 'dropping needs JavaScript; without it the form takes chosen files');
  await signUp(page, mailbox, 'dropper', project);
  await page.goto('/uploads');
  await waitForApp(page, project);
  const dataTransfer = await page.evaluateHandle(() => {
    const dt = new DataTransfer();
    dt.items.add(new File(['dropped bytes'], 'dropped.txt', { type: 'text/plain' }));
    return dt;
  });
  const zone = page.locator('form.dropzone');
  await zone.dispatchEvent('dragover', { dataTransfer });
  await zone.dispatchEvent('drop', { dataTransfer });
  await expect(page.getByTestId('upload-row').getByTestId('upload-status')).toHaveText(['Uploaded']);
  await expect(page.getByTestId('file').filter({ hasText: 'dropped.txt' })).toContainText('13 B · text/plain');
  await snapBoth(page, 'uploads-dropped', project);
});

test('a file over the limit is refused next to it, nothing is kept', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  await signUp(page, mailbox, 'toobig', project);
  await page.goto('/uploads');
  await waitForApp(page, project);
  await chooseAndSend(page, project, [textFile('huge.log', 4 * 1024 * 1024 + 1)]);
  if (project === 'js') {
    await expect(page.getByTestId('upload-status')).toHaveText('The file is too large: at most 4.0 MB is allowed.');
  } else {
    await expect(page.getByTestId('form-error')).toHaveText('That file is too large: at most 4.0 MB each.');
  }
  await expect(page.getByTestId('no-files')).toBeVisible();
  await snapBoth(page, 'uploads-too-large', project);
});

test('an upload in progress shows its bytes and can be cancelled', async ({ page, mailbox }, testInfo) => {
  test.skip(testInfo.project.name === 'nojs', 'progress and cancel need JavaScript');
  const project = testInfo.project.name;
  await signUp(page, mailbox, 'cancel', project);
  await page.goto('/uploads');
  await waitForApp(page, project);
  // A slow uplink, so the upload is still running when we look.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 256 * 1024,
  });
  await chooseAndSend(page, project, [textFile('slow.bin', 3 * 1024 * 1024)]);
  const status = page.getByTestId('upload-status');
  await expect(status).toHaveText(/^\d+(\.\d)? (B|KB|MB) of 3\.0 MB$/);
  await expect.poll(async () => page.locator('progress').evaluate((p: HTMLProgressElement) => p.value)).toBeGreaterThan(0);
  await snapBoth(page, 'uploads-progress', project);
  await page.getByTestId('cancel-upload').click();
  await expect(status).toHaveText('Cancelled');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1,
  });
  await page.reload();
  await expect(page.getByTestId('no-files')).toBeVisible();
});

test('a profile picture shows on the profile and in the nav', async ({ page, mailbox }, testInfo) => {
  const project = testInfo.project.name;
  await signUp(page, mailbox, 'pic', project);
  await waitForApp(page, project);
  await expect(page.getByTestId('nav-avatar')).not.toHaveAttribute('src');

  // Not an image by content, whatever its name says.
  await page.getByTestId('picture-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: Buffer.from('not a picture') });
  await page.getByRole('button', { name: 'Upload picture' }).click();
  await expect(page.getByTestId('picture-error')).toHaveText('Choose a JPEG, PNG or WebP image.');

  await page.getByTestId('picture-input').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: avatar });
  await page.getByRole('button', { name: 'Upload picture' }).click();
  await expect(page).toHaveURL(/\/profile\?done=picture$/);
  await expect(page.getByTestId('notice')).toHaveText('Your new picture is set.');
  await expect(page.getByTestId('profile-avatar')).toHaveAttribute('src', /^\/pictures\/[0-9a-f]{32}$/);
  await expect(page.getByTestId('nav-avatar')).toHaveAttribute('src', /^\/pictures\/[0-9a-f]{32}$/);
  const loaded = await page.getByTestId('nav-avatar').evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth);
  expect(loaded).toBe(96);
  await snapBoth(page, 'profile-picture', project);
});
