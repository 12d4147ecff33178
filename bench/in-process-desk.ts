/**
 * The benchmark's baseline: the desk's turn loop as a plain in-process loop, without Temporal.
 * The SAME agents (agents/), the SAME model step (activities/model.ts through the openai
 * client) and the SAME tools (activities/tools on an SQLite shop, idempotency ledger included),
 * called directly instead of as activities, so the ratio desk / baseline is what durability costs.
 *
 * It follows the workflow's rules for the seed's paths (handoff checked against the agent's list,
 * the first allowed handoff ends the response, every tool call answered exactly once, at most
 * 10 model steps and 4 handoffs), but it is no product path: no rollback, no crash safety, no
 * history bound. Not for use outside bench/.
 */
import type { DeskActivities } from '../activities';
import { AGENTS, ENTRY_AGENT, HANDOFF_PREFIX, isAgentName, type AgentName } from '../agents';
import type { ChatMessage, ModelStepInput, ModelStepResult, ToolRunResult } from '../contract/transcript';

/** The model step on a whole transcript, and the tool runner: what the loop calls directly. */
export interface InProcessActivities {
  callModel(input: ModelStepInput): Promise<ModelStepResult>;
  runTool: DeskActivities['runTool'];
}

export interface InProcessReply {
  agent: AgentName;
  text: string;
  turn: number;
  /** Model steps this turn took (what the per-step numbers divide by). */
  modelSteps: number;
}

const MAX_STEPS = 10;
const MAX_HANDOFFS = 4;

export class InProcessConversation {
  private agent: AgentName = ENTRY_AGENT;
  private readonly history: ChatMessage[] = [];
  private turn = 0;

  constructor(
    private readonly activities: InProcessActivities,
    readonly id: string,
    private readonly customerId: string,
  ) {}

  async send(text: string): Promise<InProcessReply> {
    const turn = ++this.turn;
    this.history.push({ role: 'user', content: text });
    let handoffs = 0;
    for (let step = 0; step < MAX_STEPS; step++) {
      const agent = this.agent;
      // A copy, as the activity gets a deserialised copy of the transcript.
      const result = await this.activities.callModel({ agent, messages: [...this.history] });
      if (result.kind !== 'tool_calls') return this.finish(agent, result.text, turn, step + 1);
      const calls = result.calls.map((c, i) => ({ ...c, id: `call_${turn}_${step}_${i}` }));
      this.history.push({ role: 'assistant', agent, content: result.text, toolCalls: calls });
      let stopped: string | undefined;
      for (const [index, call] of calls.entries()) {
        const answer = (r: ToolRunResult) =>
          this.history.push({ role: 'tool', toolCallId: call.id, name: call.name, content: JSON.stringify(r) });
        if (stopped !== undefined) {
          answer({ ok: false, code: 'invalid_state', message: `not run: ${stopped}` });
          continue;
        }
        if (call.name.startsWith(HANDOFF_PREFIX)) {
          const to = call.name.slice(HANDOFF_PREFIX.length);
          const allowed = isAgentName(to) && (AGENTS[agent].handoffs as readonly string[]).includes(to);
          if (!allowed || handoffs >= MAX_HANDOFFS) {
            answer({ ok: false, code: 'not_allowed', message: `${agent} may not hand off to ${to}` });
            continue;
          }
          this.agent = to;
          handoffs++;
          answer({ ok: true, data: { transferred_to: to } });
          stopped = `control was handed to ${to}`;
          continue;
        }
        if (!(AGENTS[agent].tools as readonly string[]).includes(call.name)) {
          answer({ ok: false, code: 'not_allowed', message: `${call.name} is not one of ${agent}'s tools` });
          continue;
        }
        answer(
          await this.activities.runTool({
            agent,
            tool: call.name,
            arguments: call.arguments,
            customerId: this.customerId,
            idempotencyKey: `${this.id}:${turn}:${step}:${index}`,
          }),
        );
      }
    }
    return this.finish(this.agent, 'step limit reached', turn, MAX_STEPS);
  }

  private finish(agent: AgentName, text: string, turn: number, modelSteps: number): InProcessReply {
    this.history.push({ role: 'assistant', agent, content: text });
    return { agent, text, turn, modelSteps };
  }
}
