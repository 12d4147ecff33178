/**
 * The offline model, driven the way the desk drives it: the real `openai` client and the real
 * model step against the stand-in's HTTP server, one model step at a time. Tool results are
 * written here in the shapes the real tools return (activities/tools), for the seed shop: alice's
 * 12345 (shipped, $99.99, TRK-98765) and 67890 (pending, $149.99).
 */
import OpenAI from 'openai';

import { createModelStep, createOpenAIClient } from '../../activities/model';
import { TOOLS } from '../../activities/tools';
import { decide, offlineChunkDelayMs, startOfflineModel, type OfflineModel } from '../../offline-model';
import type { AgentName } from '../../agents';
import { isToolName } from '../../activities/tools';
import type { ChatMessage, ModelStepResult, ToolCallRequest } from '../../contract/transcript';

let model: OfflineModel;
let openai: OpenAI;
let step: ReturnType<typeof createModelStep>;

beforeAll(async () => {
  model = await startOfflineModel();
  openai = createOpenAIClient({ baseURL: model.baseURL, timeoutMs: 5_000 });
  step = createModelStep({ openai, model: 'offline-desk-model' });
});

afterAll(async () => {
  await model.close();
});

const ok = (data: Record<string, unknown>): string => JSON.stringify({ ok: true, data });

const STATUS_12345 = ok({
  order_id: '12345',
  status: 'shipped',
  currency: 'USD',
  total: 99.99,
  refunded: 0,
  refundable: 99.99,
  carrier: 'UPS',
  tracking_number: 'TRK-98765',
});
const STATUS_67890_CANCELLED = ok({
  order_id: '67890',
  status: 'cancelled',
  currency: 'USD',
  total: 149.99,
  refunded: 0,
  refundable: 149.99,
  carrier: null,
  tracking_number: null,
});

/** A little transcript builder playing the workflow's part: ids rewritten, every call answered. */
class Conversation {
  readonly messages: ChatMessage[] = [];
  private seq = 0;

  constructor(text: string) {
    this.messages.push({ role: 'user', content: text });
  }

  async step(agent: AgentName): Promise<ModelStepResult> {
    return step.callModel({ agent, messages: this.messages });
  }

  /** Asks `agent` for one step, expects exactly one tool call and returns it (parsed). */
  async expectCall(agent: AgentName, name: string): Promise<{ call: ToolCallRequest; args: Record<string, any> }> {
    const result = await this.step(agent);
    expect(result.kind).toBe('tool_calls');
    if (result.kind !== 'tool_calls') throw new Error('unreachable');
    expect(result.calls).toHaveLength(1);
    const call = result.calls[0]!;
    expect(call.name).toBe(name);
    const args = JSON.parse(call.arguments) as Record<string, any>;
    // What the stand-in writes must pass the real tool's validation, or the desk would refuse it.
    if (isToolName(name)) expect(TOOLS[name].parameters.safeParse(args).error).toBeUndefined();
    return { call, args };
  }

  /** Records the call in the transcript as the workflow would, with `content` as its tool result. */
  answer(agent: AgentName, call: ToolCallRequest, content: string): void {
    const id = `conv-test:1:${++this.seq}:0`;
    this.messages.push({ role: 'assistant', agent, content: null, toolCalls: [{ ...call, id }] });
    this.messages.push({ role: 'tool', toolCallId: id, name: call.name, content });
  }

  async expectReply(agent: AgentName): Promise<string> {
    const result = await this.step(agent);
    expect(result.kind).toBe('reply');
    if (result.kind !== 'reply') throw new Error('unreachable');
    expect(result.text).toContain('(offline model)');
    return result.text;
  }
}

const TRANSFERRED = (to: string): string => ok({ transferred_to: to });

describe('offline model: seed scenarios, one model step at a time', () => {
  it('"Has my order #12345 shipped?": receptionist -> order -> get_order_status -> reply with tracking', async () => {
    const c = new Conversation('Has my order #12345 shipped?');
    const handoff = await c.expectCall('receptionist', 'transfer_to_order');
    expect(handoff.args.reason).toEqual(expect.stringContaining('12345'));
    c.answer('receptionist', handoff.call, TRANSFERRED('order'));

    const lookup = await c.expectCall('order', 'get_order_status');
    expect(lookup.args).toEqual({ order_id: '12345' });
    c.answer('order', lookup.call, STATUS_12345);

    const reply = await c.expectReply('order');
    expect(reply).toContain('shipped');
    expect(reply).toContain('TRK-98765');
  });

  it('"I don\'t want order #12345 anymore, please refund": receptionist -> billing -> status -> refund $99.99', async () => {
    const c = new Conversation("I don't want order #12345 anymore, please refund");
    const handoff = await c.expectCall('receptionist', 'transfer_to_billing');
    expect(handoff.args.reason).toMatch(/refund.*12345/i);
    c.answer('receptionist', handoff.call, TRANSFERRED('billing'));

    const lookup = await c.expectCall('billing', 'get_order_status');
    expect(lookup.args).toEqual({ order_id: '12345' });
    c.answer('billing', lookup.call, STATUS_12345);

    const refund = await c.expectCall('billing', 'process_refund');
    expect(refund.args).toEqual({ order_id: '12345', amount: 99.99, reason: expect.any(String) });
    c.answer(
      'billing',
      refund.call,
      ok({ refund_id: 'RF-1002', order_id: '12345', amount: 99.99, refunded_total: 99.99 }),
    );

    const reply = await c.expectReply('billing');
    expect(reply).toContain('$99.99');
    expect(reply).toContain('RF-1002');
  });

  it('"My order #67890 hasn\'t shipped yet, can I cancel and refund?": order cancels, billing refunds $149.99', async () => {
    const c = new Conversation("My order #67890 hasn't shipped yet, can I cancel and refund?");
    const toOrder = await c.expectCall('receptionist', 'transfer_to_order');
    c.answer('receptionist', toOrder.call, TRANSFERRED('order'));

    const cancel = await c.expectCall('order', 'cancel_order');
    expect(cancel.args).toMatchObject({ order_id: '67890' });
    c.answer('order', cancel.call, ok({ order_id: '67890', status: 'cancelled', refundable: 149.99 }));

    const toBilling = await c.expectCall('order', 'transfer_to_billing');
    expect(toBilling.args.reason).toMatch(/67890.*refund/i);
    c.answer('order', toBilling.call, TRANSFERRED('billing'));

    const lookup = await c.expectCall('billing', 'get_order_status');
    c.answer('billing', lookup.call, STATUS_67890_CANCELLED);

    const refund = await c.expectCall('billing', 'process_refund');
    expect(refund.args).toMatchObject({ order_id: '67890', amount: 149.99 });
  });

  it('asks a clarifying question when the request is unclear', async () => {
    const reply = await new Conversation('hello').expectReply('receptionist');
    expect(reply).toContain('?');
  });

  it('"I get 429 errors from your API": tech searches the docs and cites the top article', async () => {
    const c = new Conversation('I get 429 errors from your API');
    const handoff = await c.expectCall('receptionist', 'transfer_to_tech');
    c.answer('receptionist', handoff.call, TRANSFERRED('tech'));

    const search = await c.expectCall('tech', 'search_help_docs');
    expect(search.args.query).toContain('429');
    c.answer(
      'tech',
      search.call,
      ok({
        query: search.args.query,
        results: [{ id: 'rate-limits', title: 'Rate limits and 429 errors', snippet: 'Back off and retry.' }],
      }),
    );

    expect(await c.expectReply('tech')).toContain('Rate limits and 429 errors');
  });

  it('opens a support ticket when the docs have nothing, then gives its id', async () => {
    const c = new Conversation('Our webhook integration crashes on every delivery');
    const search = await c.expectCall('tech', 'search_help_docs');
    c.answer('tech', search.call, ok({ query: search.args.query, results: [] }));
    const ticket = await c.expectCall('tech', 'create_support_ticket');
    expect(ticket.args.subject.length).toBeGreaterThanOrEqual(3);
    expect(ticket.args.description.length).toBeGreaterThanOrEqual(10);
    c.answer('tech', ticket.call, ok({ ticket_id: 'TCK-1001', status: 'open' }));
    expect(await c.expectReply('tech')).toContain('TCK-1001');
  });

  it('explains a refused refund', async () => {
    const c = new Conversation('Please refund order #12345');
    const lookup = await c.expectCall('billing', 'get_order_status');
    c.answer('billing', lookup.call, STATUS_12345);
    const refund = await c.expectCall('billing', 'process_refund');
    c.answer(
      'billing',
      refund.call,
      JSON.stringify({ ok: false, code: 'over_limit', message: 'Order 12345 is already refunded in full' }),
    );
    expect(await c.expectReply('billing')).toContain('already refunded in full');
  });

  it("bob's $450 refund: asks for it, then tells the customer a supervisor decides; asked again, says it is already waiting", async () => {
    const c = new Conversation("I'd like a refund for order #86420, the projector arrived broken");
    const lookup = await c.expectCall('billing', 'get_order_status');
    c.answer(
      'billing',
      lookup.call,
      ok({ order_id: '86420', status: 'delivered', currency: 'USD', total: 450, refunded: 0, refundable: 450 }),
    );
    const refund = await c.expectCall('billing', 'process_refund');
    expect(refund.args).toMatchObject({ order_id: '86420', amount: 450 });
    // The workflow's answer when the refund waits for a person (workflows/approvals.ts).
    c.answer(
      'billing',
      refund.call,
      ok({
        status: 'pending_approval',
        approval_id: 'apr-1-2-0',
        order_id: '86420',
        amount: 450,
        message: 'Not refunded yet: …',
      }),
    );
    const reply = await c.expectReply('billing');
    expect(reply).toMatch(
      /A refund of \$450\.00 for order #86420 needs a supervisor's approval \(request apr-1-2-0\)\. Nothing has been refunded yet/,
    );
    expect(reply).not.toMatch(/I have refunded/);

    const again = new Conversation('Any news on the refund for order #86420?');
    again.answer(
      'billing',
      (await again.expectCall('billing', 'get_order_status')).call,
      ok({ order_id: '86420', status: 'delivered', total: 450, refunded: 0, refundable: 450 }),
    );
    const second = await again.expectCall('billing', 'process_refund');
    again.answer(
      'billing',
      second.call,
      JSON.stringify({
        ok: false,
        code: 'invalid_state',
        message: 'An approval is already pending for a refund of $450.00 for order 86420 (approval apr-1-2-0, …)',
      }),
    );
    expect(await again.expectReply('billing')).toMatch(/already waiting for a supervisor's decision/);
  });

  it('hands non-technical questions from tech back to the receptionist', async () => {
    await new Conversation('Where is my order #12345?').expectCall('tech', 'transfer_to_receptionist');
  });

  it('changes an address with the text after "to"', async () => {
    const c = new Conversation(
      'Please change the shipping address of order #67890 to 1 Main Street, Springfield 99999, USA.',
    );
    await c.expectCall('receptionist', 'transfer_to_order');
    const change = await c.expectCall('order', 'update_shipping_address');
    expect(change.args).toEqual({ order_id: '67890', address: '1 Main Street, Springfield 99999, USA' });
  });
});

describe('offline model: guards and protocol', () => {
  it('never repeats a call already made this turn with the same arguments', async () => {
    const c = new Conversation('Has my order #12345 shipped?');
    const handoff = await c.expectCall('receptionist', 'transfer_to_order');
    c.answer('receptionist', handoff.call, TRANSFERRED('order'));
    // Back at the receptionist in the same turn (a rollback): it replies instead of looping.
    c.messages.push({ role: 'event', content: 'Rolled back to the receptionist.' });
    await c.expectReply('receptionist');
  });

  it('never calls a tool it is not offered', () => {
    const decision = decide({
      messages: [{ role: 'user', content: 'Refund order #12345 please' }],
      tools: [{ type: 'function', function: { name: 'get_invoice' } }],
    });
    // Billing without process_refund or a status tool: get_order_status is not offered, so a reply.
    expect(decision.kind).toBe('reply');
  });

  it("billing tracks a parcel itself when offered track_shipment (the upgrade test's changed desk), else hands it to order", () => {
    const tools = (...names: string[]) => names.map((name) => ({ type: 'function', function: { name } }));
    const billing = tools('get_order_status', 'process_refund', 'get_invoice', 'transfer_to_order');
    const messages = [{ role: 'user', content: 'Can you track order #12345?' }];
    expect(decide({ messages, tools: billing })).toMatchObject({ kind: 'call', name: 'transfer_to_order' });
    const withTracking = [...billing, ...tools('track_shipment')];
    expect(decide({ messages, tools: withTracking })).toEqual({
      kind: 'call',
      name: 'track_shipment',
      args: { order_id: '12345' },
    });
    const call = { id: 'c1', function: { name: 'track_shipment', arguments: '{"order_id":"12345"}' } };
    const answered = [
      ...messages,
      { role: 'assistant', tool_calls: [call] },
      { role: 'tool', tool_call_id: 'c1', content: STATUS_12345 },
    ];
    expect(decide({ messages: answered, tools: withTracking })).toMatchObject({
      kind: 'reply',
      text: expect.stringContaining('Tracking number: TRK-98765 (UPS)'),
    });
  });

  it('answers in the exact Chat Completions shape with unique tool-call ids', async () => {
    const body = {
      model: 'offline-desk-model',
      messages: [{ role: 'user', content: 'Has my order #12345 shipped?' }],
      tools: [{ type: 'function', function: { name: 'transfer_to_order', parameters: { type: 'object' } } }],
    };
    const first = await openai.chat.completions.create(body as never);
    const second = await openai.chat.completions.create(body as never);
    expect(first).toMatchObject({
      object: 'chat.completion',
      model: 'offline-desk-model',
      created: expect.any(Number),
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: null } }],
      usage: {
        prompt_tokens: expect.any(Number),
        completion_tokens: expect.any(Number),
        total_tokens: expect.any(Number),
      },
    });
    expect(first.id).not.toBe(second.id);
    expect(first.choices[0]!.message.tool_calls![0]!.id).not.toBe(second.choices[0]!.message.tool_calls![0]!.id);

    const reply = await openai.chat.completions.create({
      model: 'offline-desk-model',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(reply.choices[0]).toMatchObject({
      finish_reason: 'stop',
      message: { role: 'assistant', content: expect.stringContaining('(offline model)') },
    });
  });

  it('streams a reply as server-sent chunks, word by word, with the usage chunk last and [DONE]', async () => {
    const messages = [{ role: 'user' as const, content: 'hi' }];
    const plain = await openai.chat.completions.create({ model: 'offline-desk-model', messages });
    const response = await fetch(`${model.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'offline-desk-model',
        messages,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const events = (await response.text()).split('\n\n').filter((e) => e !== '');
    expect(events.at(-1)).toBe('data: [DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, '')) as any);
    const pieces = chunks.flatMap((c) => (c.choices[0]?.delta.content ? [c.choices[0].delta.content as string] : []));
    expect(pieces.length).toBeGreaterThan(3);
    expect(pieces.join('')).toBe(plain.choices[0]!.message.content);
    expect(chunks.at(-2).choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { total_tokens: expect.any(Number) } });
    expect(chunks.slice(0, -1).every((c) => c.usage === null && c.object === 'chat.completion.chunk')).toBe(true);
  });

  it('streams a tool call as a header and argument pieces that the openai client assembles', async () => {
    const messages = [{ role: 'user' as const, content: 'Has my order #12345 shipped?' }];
    const tools = [
      { type: 'function' as const, function: { name: 'transfer_to_order', parameters: { type: 'object' } } },
    ];
    const seen: string[] = [];
    const runner = openai.chat.completions.stream({ model: 'offline-desk-model', messages, tools });
    runner.on('tool_calls.function.arguments.delta', (e) => seen.push(e.arguments_delta));
    const streamed = await runner.finalChatCompletion();
    const plain = await openai.chat.completions.create({ model: 'offline-desk-model', messages, tools });
    expect(seen.length).toBeGreaterThan(1);
    expect(streamed.choices[0]!.finish_reason).toBe('tool_calls');
    const call = (c: typeof plain) => {
      const [first] = c.choices[0]!.message.tool_calls ?? [];
      return first?.type === 'function' ? first.function : undefined;
    };
    expect(call(streamed)).toEqual(call(plain));
    expect(JSON.parse(call(streamed)!.arguments)).toEqual({ reason: expect.stringContaining('12345') });
    // Without include_usage there is no usage chunk; with it, the assembled completion has the counts.
    expect(streamed.usage).toBeUndefined();
    const counted = await openai.chat.completions
      .stream({ model: 'offline-desk-model', messages, tools, stream_options: { include_usage: true } })
      .finalChatCompletion();
    expect(counted.usage).toEqual({
      prompt_tokens: plain.usage!.prompt_tokens,
      completion_tokens: expect.any(Number),
      total_tokens: plain.usage!.prompt_tokens + counted.usage!.completion_tokens,
      // The offline model's counts are its own estimates, and it says so in the stream too.
      estimated: true,
    });
  });

  it('pauses between chunks when asked to (OFFLINE_MODEL_CHUNK_DELAY_MS)', async () => {
    const slow = await startOfflineModel({ chunkDelayMs: 40 });
    try {
      const client = createOpenAIClient({ baseURL: slow.baseURL, timeoutMs: 5_000 });
      const arrivals: number[] = [];
      const runner = client.chat.completions.stream({
        model: 'offline-desk-model',
        messages: [{ role: 'user', content: 'hi' }],
      });
      runner.on('content', () => arrivals.push(Date.now()));
      await runner.finalChatCompletion();
      expect(arrivals.length).toBeGreaterThan(3);
      expect(arrivals.at(-1)! - arrivals[0]!).toBeGreaterThanOrEqual(40 * (arrivals.length - 1) - 20);
    } finally {
      await slow.close();
    }
  });

  it('lists its model', async () => {
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['offline-desk-model']);
  });
});

describe('OFFLINE_MODEL_CHUNK_DELAY_MS', () => {
  it('is 0 when unset and refuses what is not a whole number of milliseconds up to 10 s', () => {
    expect(offlineChunkDelayMs({})).toBe(0);
    expect(offlineChunkDelayMs({ OFFLINE_MODEL_CHUNK_DELAY_MS: '25' })).toBe(25);
    expect(() => offlineChunkDelayMs({ OFFLINE_MODEL_CHUNK_DELAY_MS: 'fast' })).toThrow(
      /OFFLINE_MODEL_CHUNK_DELAY_MS.*"fast"/,
    );
    expect(() => offlineChunkDelayMs({ OFFLINE_MODEL_CHUNK_DELAY_MS: '60000' })).toThrow(/from 0 to 10000/);
  });
});
