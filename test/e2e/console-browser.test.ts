/**
 * The web console, used the way a person uses it: headless Chromium (playwright-core) on a console
 * served by createConsole against a private dev server, an in-process desk worker on the offline
 * model streaming with a pause between chunks (OFFLINE_MODEL_CHUNK_DELAY_MS), and the console
 * reading those chunks through its own reader on the same shop database.
 *
 * One story, in order: start a conversation from the list page and watch the reply arrive in pieces
 * and end equal to the recorded reply; see the path receptionist -> order -> billing; press rollback
 * and see the receptionist take over; see a message sent by another client appear without a reload;
 * reload in the middle of a streamed reply and still end on exactly the recorded text; approve a
 * refund above the approval limit and see the refund (on the page, and as the shop's row); and the
 * refusals (no token, an empty message) shown on the page with nothing changed.
 *
 * DESK_CONSOLE_SCREENSHOTS=<dir> keeps the README's screenshots (list.png, conversation.png) there.
 * Like the Temporal UI test, it FAILS when no Chromium can be had; DESK_SKIP_BROWSER=1 skips it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { openReplyStreamReader, type ReplyStreamReader } from '../../activities/reply-stream';
import { openShopStore } from '../../activities/store';
import { conversationHandle, sendMessage } from '../../client/conversations';
import type { ChatMessage } from '../../contract/transcript';
import { formatCounts } from '../../contract/usage';
import { historyQuery, stateQuery } from '../../workflows/messages';
import { createConsole, type RunningConsole } from '../../console/server';
import { CHROMIUM_ARGS, resolveChromium } from '../helpers/chromium';
import { shopDbOf, startInProcessDesk, type InProcessDesk } from '../helpers/e2e';
import { quietRuntime } from '../helpers/temporal-env';

const SKIP = process.env.DESK_SKIP_BROWSER === '1';
const TOKEN = 'console-browser-test-token';
/** Slow enough for a browser to see a reply grow, fast enough for a turn of six steps to take seconds. */
const CHUNK_DELAY_MS = 120;
const SCREENSHOTS = process.env.DESK_CONSOLE_SCREENSHOTS;

jest.setTimeout(120_000);

if (SKIP) console.log('[console-browser] DESK_SKIP_BROWSER=1: skipping the console browser test.');

/**
 * Every distinct text the streaming reply showed, in order (`window.__pieces`), installed on every
 * page load. A string: this file is type-checked without the DOM's types.
 */
const RECORD_PIECES = `
  window.__pieces = [];
  new MutationObserver(() => {
    const text = document.querySelector('[data-testid="partial-reply"] .text')?.textContent;
    if (text && window.__pieces[window.__pieces.length - 1] !== text) window.__pieces.push(text);
  }).observe(document, { subtree: true, childList: true, characterData: true });
`;

/** A value the page keeps on its global object (window), read back. */
const pageGlobal = <T>(page: Page, name: string) =>
  page.evaluate((key) => (globalThis as unknown as Record<string, unknown>)[key], name) as Promise<T>;

(SKIP ? describe.skip : describe)('the web console in a browser', () => {
  let desk: InProcessDesk;
  let streams: ReplyStreamReader;
  let consoleServer: RunningConsole;
  let browser: Browser;
  let page: Page;
  /** The conversation the first tests share. */
  let refundId = '';

  beforeAll(async () => {
    const chromiumBinary = await resolveChromium();
    console.log(`[console-browser] Chromium (${chromiumBinary.source}): ${chromiumBinary.executablePath}`);
    quietRuntime();
    desk = await startInProcessDesk({ env: { OFFLINE_MODEL_CHUNK_DELAY_MS: String(CHUNK_DELAY_MS) } });
    streams = await openReplyStreamReader({ SHOP_DB: shopDbOf(desk.server) });
    consoleServer = await createConsole({
      client: desk.server.client,
      token: TOKEN,
      port: 0,
      streams,
      intervalMs: 100,
      temporalAddress: desk.server.address,
    });
    browser = await chromium.launch({ executablePath: chromiumBinary.executablePath, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 950 } });
    await page.addInitScript(RECORD_PIECES);
    // The token comes the way `npm start` prints it: in the URL's fragment.
    await page.goto(`${consoleServer.url}#token=${TOKEN}`);
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await consoleServer?.close();
    await streams?.close();
    await desk?.stop();
  });

  const currentId = () => decodeURIComponent(/#\/c\/(.+)$/.exec(page.url())?.[1] ?? '');

  async function recorded(id: string): Promise<{ replies: string[]; transcript: ChatMessage[] }> {
    const transcript = await conversationHandle(desk.server.client, id).query(historyQuery);
    const replies = transcript.flatMap((m) => (m.role === 'assistant' && m.content ? [m.content] : []));
    return { replies, transcript };
  }

  /** The reply texts the page shows, in order. */
  const shownReplies = () => page.locator('[data-testid="reply"] .text').allTextContents();

  /** Waits until the page shows no streaming reply and exactly the recorded replies; returns them. */
  async function settles(id: string, replies: number): Promise<string[]> {
    await page
      .locator('[data-testid="reply"]')
      .nth(replies - 1)
      .waitFor({ timeout: 60_000 });
    await page.locator('[data-testid="partial-reply"]').waitFor({ state: 'detached', timeout: 30_000 });
    const shown = await shownReplies();
    expect(shown).toEqual((await recorded(id)).replies);
    return shown;
  }

  async function screenshot(name: string): Promise<void> {
    if (!SCREENSHOTS) return;
    fs.mkdirSync(SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SCREENSHOTS, name), fullPage: true });
  }

  /** Bob asks for a refund of his $450 order from the list page; returns once it waits for a person. */
  async function startBobsBigRefund(): Promise<string> {
    await page.goto(`${consoleServer.url}#/`);
    await page.fill('input[name="customer"]', 'bob');
    await page.fill('input[name="first-message"]', "I'd like a refund for order #86420, the projector arrived broken");
    await page.click('button:has-text("Start conversation")');
    await page.waitForURL(/#\/c\/conversation-bob-/);
    const id = currentId();
    await settles(id, 1);
    await page.locator('[data-approval="apr-1-2-0"][data-status="pending"]').waitFor({ timeout: 15_000 });
    return id;
  }

  async function shopRows<T>(sql: string): Promise<T[]> {
    const store = await openShopStore(shopDbOf(desk.server));
    try {
      return await store.query<T>(sql, []);
    } finally {
      await store.close();
    }
  }

  test('start a conversation from the list page: the reply streams in pieces and ends as the recorded reply, with the path drawn', async () => {
    expect(await page.locator('header .token').textContent()).toContain('token set');
    await page.fill('input[name="customer"]', 'alice');
    await page.fill('input[name="first-message"]', "My order #67890 hasn't shipped yet, can I cancel and refund?");
    await page.click('button:has-text("Start conversation")');
    await page.waitForURL(/#\/c\/conversation-alice-/);
    const id = currentId();

    const [final] = await settles(id, 1);
    expect(final).toMatch(/^\(offline model\) I have refunded \$149\.99 for order #67890 \(refund RF-\d+\)/);
    // The reply grew in front of the reader: several texts, each a longer prefix of the recorded one.
    const pieces = await pageGlobal<string[]>(page, '__pieces');
    const growing = pieces.filter((p) => final!.startsWith(p) && p !== final);
    console.log(`[console-browser] the reply showed ${pieces.length} texts, ${growing.length} of them partial`);
    expect(growing.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < growing.length; i++) expect(growing[i]!.length).toBeGreaterThan(growing[i - 1]!.length);

    // The path, drawn, and each handoff with its reason inline; tool calls collapsible with their results.
    await expect(page.locator('[data-testid="path"]').getAttribute('aria-label')).resolves.toBe(
      'path: receptionist -> order -> billing',
    );
    const handoffs = await page.locator('[data-testid="handoff"]').allTextContents();
    expect(handoffs).toEqual([
      expect.stringMatching(/^handoff receptionist → order.*cancel order 67890/),
      expect.stringMatching(/^handoff order → billing.*refund/),
    ]);
    const refund = page.locator('[data-testid="tool-call"]', { hasText: 'process_refund' });
    await refund.locator('summary').click();
    await expect(refund.locator('[data-testid="tool-result"]').textContent()).resolves.toMatch(/"refund_id": "RF-\d+"/);
    await expect(page.locator('[data-testid="handoffs"]').textContent()).resolves.toBe('2');
    // Tokens and cost, per agent and in all, as the conversation's state sums them (the offline
    // model's counts are estimates, and say so).
    const { usage } = await conversationHandle(desk.server.client, currentId()).query(stateQuery);
    expect(Object.keys(usage!.byAgent).sort()).toEqual(['billing', 'order', 'receptionist']);
    await expect(page.locator('[data-testid="usage-total"]').textContent()).resolves.toBe(formatCounts(usage!.total));
    await expect(page.locator('[data-testid="usage-billing"]').textContent()).resolves.toBe(
      formatCounts(usage!.byAgent.billing!),
    );
    expect(formatCounts(usage!.total)).toMatch(/^\d+ steps, tokens in [\d,]+ out [\d,]+ \(estimated\), cost /);
    await screenshot('conversation.png');
  });

  test('rollback from the page: the receptionist takes over, recorded in the trail', async () => {
    const id = currentId();
    await page.fill('input[name="rollback-reason"]', 'customer asked for a person');
    await page.click('button[name="rollback"]');
    await page.locator('[data-testid="current-agent"]', { hasText: 'receptionist' }).waitFor({ timeout: 15_000 });
    await page
      .locator('[data-testid="trail"] li', { hasText: 'rollback billing → receptionist: customer asked for a person' })
      .waitFor({ timeout: 5_000 });
    await expect(page.locator('[data-testid="path"]').getAttribute('aria-label')).resolves.toBe(
      'path: receptionist -> order -> billing -> receptionist',
    );
    const state = await conversationHandle(desk.server.client, id).query(stateQuery);
    expect([state.currentAgent, state.statistics.rollbacks]).toEqual(['receptionist', 1]);
  });

  test('a message sent by another client shows up without a reload', async () => {
    const id = currentId();
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument: boolean }).__sameDocument = true));
    const reply = await sendMessage(conversationHandle(desk.server.client, id), 'Has my order #12345 shipped?');
    expect(reply.text).toContain('TRK-98765');
    await page.locator('[data-testid="reply"] .text', { hasText: 'TRK-98765' }).waitFor({ timeout: 15_000 });
    await settles(id, 2);
    expect(await pageGlobal<boolean>(page, '__sameDocument')).toBe(true);
  });

  test('a reload in the middle of a streamed reply still ends on exactly the recorded text', async () => {
    const id = currentId();
    await page.fill('textarea[name="message"]', 'Where is my order #12345 now?');
    await page.click('button:has-text("Send")');
    // Reload as soon as the page shows the message: its turn (two model steps, streamed at
    // CHUNK_DELAY_MS a piece) is still running, so the page reconnects mid-turn. Waiting for the
    // preview instead would be racy: when the console reads the recorded reply in the same poll as the
    // step's last chunks, it rightly shows no preview at all.
    await page.locator('.msg.customer', { hasText: 'Where is my order #12345 now?' }).waitFor({ timeout: 30_000 });
    const atReload = (await recorded(id)).transcript;
    const last = atReload[atReload.length - 1]!;
    expect(last.role === 'assistant' && !last.toolCalls?.length).toBe(false); // no reply yet: mid-turn
    if (await page.locator('[data-testid="partial-reply"]').isVisible()) await screenshot('streaming.png');
    await page.reload();
    const shown = await settles(id, 3);
    expect(shown).toHaveLength(3);
    const { transcript } = await recorded(id);
    expect(transcript.filter((m) => m.role === 'user').map((m) => m.content)).toEqual([
      "My order #67890 hasn't shipped yet, can I cancel and refund?",
      'Has my order #12345 shipped?',
      'Where is my order #12345 now?',
    ]);
  });

  test('refusals are shown on the page and change nothing', async () => {
    const id = currentId();
    const before = (await recorded(id)).transcript.length;
    await page.fill('textarea[name="message"]', '   ');
    await page.click('button:has-text("Send")');
    await expect(page.locator('.composer [role="alert"]').textContent()).resolves.toBe(
      'message rejected: the message is empty',
    );
    // Without the token nothing goes through either.
    await page.click('header .token button');
    await page.fill('header input[name="token"]', '');
    await page.click('header button:has-text("Use token")');
    await page.fill('textarea[name="message"]', 'Has my order #12345 shipped?');
    await page.click('button:has-text("Send")');
    await expect(page.locator('.composer [role="alert"]').textContent()).resolves.toMatch(
      /^the console token is missing/,
    );
    await page.fill('header input[name="token"]', TOKEN);
    await page.click('header button:has-text("Use token")');
    expect((await recorded(id)).transcript).toHaveLength(before);
    // A conversation that does not exist says so, rather than loading forever.
    await page.goto(`${consoleServer.url}#/c/conversation-nobody-00000000`);
    await page
      .locator('[role="alert"]', { hasText: 'no conversation with id conversation-nobody-00000000' })
      .waitFor({ timeout: 10_000 });
  });

  test('rejecting a pending refund on the page makes no refund; End closes the conversation', async () => {
    const id = await startBobsBigRefund();
    await page.fill('input[name="decided-by"]', 'kim.lead');
    await page.fill('input[name="decision-note"]', 'no photos of the damage');
    await page.click('button[name="reject"]');
    await page.locator('[data-approval="apr-1-2-0"][data-status="rejected"]').waitFor({ timeout: 30_000 });
    await page
      .locator('[data-testid="reply"] .text', { hasText: 'could not approve it, so no money was refunded' })
      .waitFor({ timeout: 15_000 });
    expect(await shopRows("SELECT id FROM refunds WHERE order_id = '86420'")).toEqual([]);
    const { approvals } = await conversationHandle(desk.server.client, id).query(stateQuery);
    expect(approvals).toEqual([
      expect.objectContaining({
        id: 'apr-1-2-0',
        status: 'rejected',
        decidedBy: 'kim.lead',
        note: 'no photos of the damage',
      }),
    ]);

    await page.click('button[name="end"]');
    await page.locator('[data-testid="status"]', { hasText: 'closed (ended)' }).waitFor({ timeout: 15_000 });
    await expect(page.locator('button[name="end"]').isDisabled()).resolves.toBe(true);
    await expect(conversationHandle(desk.server.client, id).result()).resolves.toMatchObject({
      status: 'closed',
      closedReason: 'ended',
    });
  });

  test('a refund above the limit waits; the list finds it; approving it on the page makes the refund once', async () => {
    const id = await startBobsBigRefund();
    const pending = page.locator('[data-approval="apr-1-2-0"][data-status="pending"]');

    // The list, filtered to conversations waiting for a person, finds it (visibility is eventual: the list refreshes).
    await page.goto(`${consoleServer.url}#/`);
    await page.check('input[name="pending"]');
    await page
      .locator('.query code', { hasText: "WorkflowType = 'conversation' AND PendingApprovals > 0" })
      .waitFor({ timeout: 10_000 });
    await page.locator(`tr[data-id="${id}"]`).waitFor({ timeout: 30_000 });
    expect(await page.locator('tbody tr').count()).toBe(1);
    await page.uncheck('input[name="pending"]');
    await page.locator('tbody tr').nth(1).waitFor({ timeout: 15_000 });
    await screenshot('list.png');

    await page.click(`a[href="#/c/${encodeURIComponent(id)}"]`);
    await pending.waitFor({ timeout: 15_000 });
    await page.fill('input[name="decided-by"]', 'sam.supervisor');
    await page.fill('input[name="decision-note"]', 'photos of the damage checked');
    await page.click('button[name="approve"]');
    const shownRefund = page.locator('[data-approval="apr-1-2-0"][data-status="approved"] [data-testid="refund-id"]');
    await shownRefund.waitFor({ timeout: 30_000 });
    refundId = (await shownRefund.textContent()) ?? '';
    expect(refundId).toMatch(/^RF-\d+$/);
    await page.locator('[data-testid="reply"] .text', { hasText: 'a supervisor approved your refund' }).waitFor();
    expect(
      await shopRows<{ id: string; amount_cents: number }>(
        "SELECT id, amount_cents FROM refunds WHERE order_id = '86420'",
      ),
    ).toEqual([{ id: refundId, amount_cents: 45000 }]);
    // Approving twice is refused on the page; still one refund.
    const again = await page.evaluate(
      async ([url, token]) => {
        const res = await fetch(url!, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-desk-token': token! },
          body: JSON.stringify({ decision: 'approve', by: 'sam.supervisor' }),
        });
        return { status: res.status, body: (await res.json()) as { error: string } };
      },
      [`/api/conversations/${encodeURIComponent(id)}/approvals/apr-1-2-0`, TOKEN],
    );
    expect(again).toEqual({ status: 400, body: { error: expect.stringMatching(/already decided/) } });
    expect(await shopRows("SELECT id FROM refunds WHERE order_id = '86420'")).toHaveLength(1);
  });
});
