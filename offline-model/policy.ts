/**
 * The offline model's mind: a deterministic, rule-based stand-in for an LLM, so the desk runs and
 * its end-to-end tests pass with no account and no internet. It is a demo and test aid, not a
 * language model: it reads keywords, order numbers and the tool results of the current turn.
 *
 * One request, one decision (`decide`):
 * 1. Which agent it plays is read from the tools it is offered (billing has process_refund, order
 *    has cancel_order ..., tech has search_help_docs, the receptionist only transfers).
 * 2. The current turn is the last user message and everything after it; its intents and order
 *    number come from that message (the order number may also come from an earlier user message).
 * 3. The agent's rules (below, one function per agent) pick a tool call or a reply, reading the
 *    results of tools already run this turn.
 * 4. Guards: a tool that is not offered is never called, and a tool already run this turn with the
 *    same arguments is not run again (a reply instead), so it cannot loop.
 *
 * Every reply starts with "(offline model)" so nobody mistakes it for a real model.
 */

/** The parts of a Chat Completions request the stand-in reads. */
export interface WireToolCall {
  id: string;
  type?: string;
  function: { name: string; arguments: string };
}

export interface WireMessage {
  role: string;
  content?: unknown;
  tool_calls?: WireToolCall[] | null;
  tool_call_id?: string;
}

export interface WireTool {
  type?: string;
  function?: { name: string };
}

export interface WireRequest {
  messages: WireMessage[];
  tools?: WireTool[] | null;
}

/** What the stand-in answers: a reply (ends the turn) or one tool call. */
export type Decision = { kind: 'reply'; text: string } | { kind: 'call'; name: string; args: Record<string, unknown> };

export const REPLY_PREFIX = '(offline model)';

// ---------------------------------------------------------------------------------------------
// Reading the request

type Intent = 'cancel' | 'unwanted' | 'refund' | 'status' | 'track' | 'address' | 'invoice' | 'payment' | 'tech';

/** Keyword table, matched against the lower-cased last user message. */
const INTENT_PATTERNS: Record<Intent, RegExp> = {
  cancel: /\bcancel/,
  unwanted: /\b(?:don'?t|don’t|do not) want\b/,
  refund: /\brefund|money back/,
  status: /\bship|\btrack|\bstatus\b|\bwhere is\b|\bdeliver/,
  track: /\btrack/,
  address: /\baddress\b/,
  invoice: /\binvoice|\breceipt/,
  payment: /\bpayment|\bcharge|\bbilled\b|\bbilling\b/,
  tech: /\bapi\b|\berror|\bbug|\bintegration|\bwebhook|\bsdk\b|\b401\b|\b429\b|\b500\b|\bcrash/,
};

const ORDER_ID = /#?\b(\d{5})\b/;

type Outcome = { ok: true; data: Record<string, unknown> } | { ok: false; code: string; message: string };

/** A tool call made earlier in this turn (by any agent), with its result. */
interface ToolRun {
  name: string;
  args: Record<string, unknown>;
  /** name + canonical arguments: what "the same call" means for the loop guard. */
  key: string;
  result: Outcome;
}

interface Turn {
  /** The last user message as written. */
  text: string;
  intents: ReadonlySet<Intent>;
  orderId: string | undefined;
  runs: readonly ToolRun[];
  offered: ReadonlySet<string>;
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) =>
        part && typeof part === 'object' && 'text' in part ? String((part as { text: unknown }).text) : '',
      )
      .join(' ');
  }
  return '';
}

function parseObject(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Reads a tool message: the desk's `{ok, data}` / `{ok:false, code, message}`, or anything else as data. */
function parseOutcome(content: string): Outcome {
  const value = parseObject(content);
  if (value.ok === false) {
    return { ok: false, code: String(value.code ?? 'error'), message: String(value.message ?? content) };
  }
  if (value.ok === true && value.data && typeof value.data === 'object') {
    return { ok: true, data: value.data as Record<string, unknown> };
  }
  return { ok: true, data: Object.keys(value).length > 0 ? value : { text: content } };
}

function callKey(name: string, args: Record<string, unknown>): string {
  const sorted = Object.fromEntries(Object.entries(args).sort(([a], [b]) => a.localeCompare(b)));
  return `${name} ${JSON.stringify(sorted)}`;
}

export function readTurn(request: WireRequest): Turn {
  const { messages } = request;
  let lastUser = -1;
  messages.forEach((m, i) => {
    if (m.role === 'user') lastUser = i;
  });
  const text = lastUser >= 0 ? textOf(messages[lastUser]?.content) : '';
  const lower = text.toLowerCase();
  const intents = new Set((Object.keys(INTENT_PATTERNS) as Intent[]).filter((i) => INTENT_PATTERNS[i].test(lower)));

  // The order number: from this message, else the latest earlier user message naming one.
  let orderId: string | undefined;
  for (let i = lastUser; i >= 0 && orderId === undefined; i--) {
    const m = messages[i];
    if (m?.role === 'user') orderId = ORDER_ID.exec(textOf(m.content))?.[1];
  }

  const current = messages.slice(lastUser + 1);
  const results = new Map<string, string>();
  for (const m of current) if (m.role === 'tool' && m.tool_call_id) results.set(m.tool_call_id, textOf(m.content));
  const runs: ToolRun[] = [];
  for (const m of current) {
    for (const call of m.role === 'assistant' ? (m.tool_calls ?? []) : []) {
      const args = parseObject(call.function.arguments);
      const result = results.get(call.id);
      if (result === undefined) continue;
      runs.push({
        name: call.function.name,
        args,
        key: callKey(call.function.name, args),
        result: parseOutcome(result),
      });
    }
  }

  const offered = new Set((request.tools ?? []).flatMap((t) => (t.function?.name ? [t.function.name] : [])));
  return { text, intents, orderId, runs, offered };
}

// ---------------------------------------------------------------------------------------------
// Small helpers the rules share

const reply = (text: string): Decision => ({ kind: 'reply', text: `${REPLY_PREFIX} ${text}` });
const call = (name: string, args: Record<string, unknown>): Decision => ({ kind: 'call', name, args });
const transfer = (agent: string, reason: string): Decision => call(`transfer_to_${agent}`, { reason });

const has = (t: Turn, ...intents: Intent[]): boolean => intents.some((i) => t.intents.has(i));
const orderRef = (t: Turn): string => (t.orderId ? `order ${t.orderId}` : 'an order');

/** The latest run of `name` this turn, for this order when one is known. */
function lastRun(t: Turn, name: string, orderId?: string): ToolRun | undefined {
  return t.runs.findLast(
    (r) => r.name === name && (orderId === undefined || String(r.args.order_id ?? '').replace(/^#/, '') === orderId),
  );
}

function num(data: Record<string, unknown>, key: string): number | undefined {
  const v = data[key];
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(data: Record<string, unknown>, key: string): string | undefined {
  const v = data[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

const dollars = (n: number): string => `$${n.toFixed(2)}`;
const round2 = (n: number): number => Math.round(n * 100) / 100;

/** The new address: the text after "to" that follows "address" ("change the address of #123 to 1 Main St"). */
function newAddress(text: string): string | undefined {
  return /address\b.*?\bto\s+(.+?)[\s.!?]*$/is.exec(text)?.[1]?.trim() || undefined;
}

function describeOrder(orderId: string, result: Outcome): string {
  if (!result.ok) return `I could not look up order #${orderId}: ${result.message}`;
  const d = result.data;
  const parts = [`Order #${orderId} is ${str(d, 'status') ?? 'in an unknown state'}.`];
  const tracking = str(d, 'tracking_number');
  if (tracking) parts.push(`Tracking number: ${tracking}${str(d, 'carrier') ? ` (${str(d, 'carrier')})` : ''}.`);
  else if (str(d, 'note')) parts.push(str(d, 'note') as string);
  return parts.join(' ');
}

// ---------------------------------------------------------------------------------------------
// The agents' rules

/** Receptionist routes, first match wins. A refund wanted with an explicit "cancel" goes to order first. */
const ROUTES: ReadonlyArray<{ when: (t: Turn) => boolean; to: string; reason: (t: Turn) => string }> = [
  {
    when: (t) => has(t, 'cancel') && has(t, 'refund'),
    to: 'order',
    reason: (t) => `Customer wants to cancel ${orderRef(t)} and get a refund: cancel first, then billing refunds`,
  },
  { when: (t) => has(t, 'refund'), to: 'billing', reason: (t) => `Customer wants a refund for ${orderRef(t)}` },
  { when: (t) => has(t, 'invoice'), to: 'billing', reason: (t) => `Customer asks for the invoice of ${orderRef(t)}` },
  {
    when: (t) => has(t, 'payment'),
    to: 'billing',
    reason: (t) => `Customer has a payment question about ${orderRef(t)}`,
  },
  { when: (t) => has(t, 'cancel', 'unwanted'), to: 'order', reason: (t) => `Customer wants to cancel ${orderRef(t)}` },
  {
    when: (t) => has(t, 'address'),
    to: 'order',
    reason: (t) => `Customer wants to change the shipping address of ${orderRef(t)}`,
  },
  {
    when: (t) => has(t, 'status'),
    to: 'order',
    reason: (t) => `Customer asks about the shipping status of ${orderRef(t)}`,
  },
  {
    when: (t) => has(t, 'tech'),
    to: 'tech',
    reason: () => 'Customer reports a technical problem with our API or integration',
  },
];

function receptionist(t: Turn): Decision {
  const route = ROUTES.find((r) => r.when(t));
  if (route) return transfer(route.to, route.reason(t));
  return reply(
    'Happy to help! Is your question about an order (status, tracking, cancellation, address), billing (refunds, invoices) or a technical problem with our API?',
  );
}

function order(t: Turn): Decision {
  const id = t.orderId;
  if (!has(t, 'address', 'cancel', 'unwanted', 'status')) {
    if (has(t, 'refund', 'invoice', 'payment'))
      return transfer('billing', `Customer wants a refund or billing help for ${orderRef(t)}`);
    return transfer('receptionist', 'Customer needs help with something other than orders');
  }
  if (!id) return reply('Which order is this about? Please give me its order number, for example #12345.');

  if (has(t, 'address')) {
    const done = lastRun(t, 'update_shipping_address', id);
    if (done) {
      return reply(
        done.result.ok
          ? `The shipping address of order #${id} is now: ${str(done.result.data, 'new_address') ?? String(done.args.address)}.`
          : `I could not change the address of order #${id}: ${done.result.message}`,
      );
    }
    const address = newAddress(t.text);
    if (!address)
      return reply(
        `What is the new shipping address for order #${id}? Please give street, city, postal code and country.`,
      );
    return call('update_shipping_address', { order_id: id, address });
  }

  if (has(t, 'cancel', 'unwanted')) {
    const done = lastRun(t, 'cancel_order', id);
    if (!done) return call('cancel_order', { order_id: id, reason: 'Requested by the customer' });
    if (!done.result.ok) return reply(`I could not cancel order #${id}: ${done.result.message}`);
    if (has(t, 'refund'))
      return transfer('billing', `Order ${id} is cancelled; the customer wants a refund of the payment`);
    return reply(`Order #${id} is cancelled. No money has been refunded; ask if you would like a refund.`);
  }

  const looked = lastRun(t, 'track_shipment', id) ?? lastRun(t, 'get_order_status', id);
  if (looked) return reply(describeOrder(id, looked.result));
  const tool = has(t, 'track') && t.offered.has('track_shipment') ? 'track_shipment' : 'get_order_status';
  return call(tool, { order_id: id });
}

function billing(t: Turn): Decision {
  const id = t.orderId;
  if (has(t, 'refund')) {
    if (!id) return reply('Which order should I refund? Please give me its order number, for example #12345.');
    const refunded = lastRun(t, 'process_refund', id);
    if (refunded) {
      if (!refunded.result.ok) {
        if (/approval is already pending/i.test(refunded.result.message)) {
          return reply(
            `Your refund for order #${id} is already waiting for a supervisor's decision; you will hear from us here as soon as it is decided.`,
          );
        }
        return reply(`I could not refund order #${id}: ${refunded.result.message}`);
      }
      if (str(refunded.result.data, 'status') === 'pending_approval') {
        const amount = num(refunded.result.data, 'amount') ?? Number(refunded.args.amount);
        return reply(
          `A refund of ${dollars(amount)} for order #${id} needs a supervisor's approval (request ${str(refunded.result.data, 'approval_id') ?? 'recorded'}). ` +
            'Nothing has been refunded yet; you will hear from us here as soon as it is decided.',
        );
      }
      const amount = num(refunded.result.data, 'amount') ?? Number(refunded.args.amount);
      const ref = str(refunded.result.data, 'refund_id');
      return reply(
        `I have refunded ${dollars(amount)} for order #${id}${ref ? ` (refund ${ref})` : ''}. It should reach your account within a few days.`,
      );
    }
    const status = lastRun(t, 'get_order_status', id);
    if (!status) return call('get_order_status', { order_id: id });
    if (!status.result.ok) return reply(`I could not find order #${id}: ${status.result.message}`);
    const d = status.result.data;
    const remaining = num(d, 'refundable') ?? round2((num(d, 'total') ?? 0) - (num(d, 'refunded') ?? 0));
    if (remaining <= 0)
      return reply(`Order #${id} has already been refunded in full; there is nothing left to refund.`);
    return call('process_refund', {
      order_id: id,
      amount: round2(remaining),
      reason: `Customer asked for a refund of order ${id}`,
    });
  }
  if (has(t, 'invoice', 'payment')) {
    if (!id) return reply('Which order is this about? Please give me its order number, for example #12345.');
    const invoice = lastRun(t, 'get_invoice', id);
    if (!invoice) return call('get_invoice', { order_id: id });
    if (!invoice.result.ok) return reply(`I could not get the invoice of order #${id}: ${invoice.result.message}`);
    const d = invoice.result.data;
    return reply(
      `Invoice ${str(d, 'invoice_number') ?? `for order #${id}`}: total ${dollars(num(d, 'total') ?? 0)}, refunded ${dollars(num(d, 'refunded') ?? 0)}, net paid ${dollars(num(d, 'net_paid') ?? num(d, 'total') ?? 0)}.`,
    );
  }
  // A desk that gives billing track_shipment (the upgrade test's changed desk) answers tracking here.
  if (has(t, 'track') && id && t.offered.has('track_shipment')) {
    const tracked = lastRun(t, 'track_shipment', id);
    return tracked ? reply(describeOrder(id, tracked.result)) : call('track_shipment', { order_id: id });
  }
  if (has(t, 'cancel', 'unwanted', 'status', 'address'))
    return transfer('order', `Customer needs order details for ${orderRef(t)}`);
  return transfer('receptionist', 'Customer needs help with something other than billing');
}

/** The first search hit, whatever the list is called in the tool's result. */
function topArticle(result: Outcome): { title: string; text?: string } | undefined {
  if (!result.ok) return undefined;
  for (const value of Object.values(result.data)) {
    if (!Array.isArray(value)) continue;
    const first: unknown = value[0];
    if (first && typeof first === 'object' && typeof (first as { title?: unknown }).title === 'string') {
      const f = first as Record<string, unknown>;
      return { title: f.title as string, text: str(f, 'snippet') ?? str(f, 'summary') ?? str(f, 'excerpt') };
    }
  }
  return undefined;
}

function tech(t: Turn): Decision {
  if (!has(t, 'tech') && has(t, 'refund', 'invoice', 'payment', 'cancel', 'unwanted', 'status', 'address')) {
    return transfer('receptionist', 'Customer asks about orders or billing, not a technical problem');
  }
  const ticket = lastRun(t, 'create_support_ticket');
  if (ticket) {
    if (!ticket.result.ok) return reply(`I could not open a support ticket: ${ticket.result.message}`);
    const ticketId = str(ticket.result.data, 'ticket_id') ?? str(ticket.result.data, 'id') ?? 'for you';
    return reply(
      `I found nothing in our help docs for this, so I opened support ticket ${ticketId}; an engineer will get back to you.`,
    );
  }
  const search = lastRun(t, 'search_help_docs');
  if (!search) return call('search_help_docs', { query: t.text.trim().slice(0, 300) || 'help' });
  const top = topArticle(search.result);
  if (top) return reply(`Our help article "${top.title}" covers this.${top.text ? ` ${top.text}` : ''}`);
  return call('create_support_ticket', {
    subject: `Help needed: ${t.text}`.slice(0, 120),
    description: `The customer wrote: ${t.text}\nNo help article matched.`.slice(0, 4000),
  });
}

/** Which agent this request is for, from the tools it is offered (first match wins). */
const AGENT_RULES: ReadonlyArray<{ agent: string; signature: readonly string[]; rules: (t: Turn) => Decision }> = [
  { agent: 'billing', signature: ['process_refund', 'get_invoice'], rules: billing },
  {
    agent: 'order',
    signature: ['cancel_order', 'track_shipment', 'update_shipping_address', 'get_order_status'],
    rules: order,
  },
  { agent: 'tech', signature: ['search_help_docs', 'create_support_ticket'], rules: tech },
];

export function agentFor(offered: ReadonlySet<string>): string {
  return AGENT_RULES.find((a) => a.signature.some((tool) => offered.has(tool)))?.agent ?? 'receptionist';
}

// ---------------------------------------------------------------------------------------------
// The decision, with its guards

export function decide(request: WireRequest): Decision {
  const t = readTurn(request);
  const agent = agentFor(t.offered);
  const rules = AGENT_RULES.find((a) => a.agent === agent)?.rules ?? receptionist;
  const decision = rules(t);
  if (decision.kind === 'reply') return decision;

  if (!t.offered.has(decision.name)) {
    return reply("I'm sorry, I can't do that from here. Could you tell me a bit more about what you need?");
  }
  // Never the same call twice in one turn: that is how a rule-based model would loop.
  if (t.runs.some((r) => r.key === callKey(decision.name, decision.args))) {
    return reply('I have already taken care of that in this conversation. Is there anything else I can help with?');
  }
  return decision;
}
