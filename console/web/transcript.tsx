/**
 * The transcript as a support lead reads it: each reply labelled by its agent, tool calls inline
 * (collapsed, with their results), handoffs with their reasons, desk events (rollbacks, approvals)
 * as lines of their own, and at the end the reply a running model step is writing, if any.
 */
import type { ChatMessage, PartialReply } from '../api-types';
import { AgentBadge, prettyJson } from './parts';

const HANDOFF_PREFIX = 'transfer_to_';

function handoffReason(args: string): string {
  try {
    const parsed = JSON.parse(args) as { reason?: unknown };
    return typeof parsed.reason === 'string' ? parsed.reason : '';
  } catch {
    return '';
  }
}

export function Transcript({
  messages,
  partial,
  partialAgent,
}: {
  messages: ChatMessage[];
  partial?: PartialReply;
  partialAgent: string;
}) {
  const results = new Map<string, string>();
  for (const m of messages) if (m.role === 'tool') results.set(m.toolCallId, m.content);
  return (
    <ol class="transcript" data-testid="transcript">
      {messages.map((m, i) => {
        switch (m.role) {
          case 'user':
            return (
              <li key={i} class="msg customer">
                <span class="who">customer</span>
                <div class="text">{m.content}</div>
              </li>
            );
          case 'assistant':
            return (
              <li key={i} class="msg assistant" data-agent={m.agent}>
                {m.content && (
                  <div class="reply" data-testid="reply" data-agent={m.agent}>
                    <AgentBadge agent={m.agent} />
                    <div class="text">{m.content}</div>
                  </div>
                )}
                {m.toolCalls?.map((call) =>
                  call.name.startsWith(HANDOFF_PREFIX) ? (
                    <div key={call.id} class="handoff" data-testid="handoff">
                      handoff <AgentBadge agent={m.agent} /> →{' '}
                      <AgentBadge agent={call.name.slice(HANDOFF_PREFIX.length)} />
                      <span class="reason">{handoffReason(call.arguments)}</span>
                    </div>
                  ) : (
                    <details key={call.id} class="tool" data-testid="tool-call">
                      <summary>
                        <AgentBadge agent={m.agent} /> <code>{call.name}</code>
                      </summary>
                      <div class="tool-body">
                        <div class="label">arguments</div>
                        <pre>{prettyJson(call.arguments)}</pre>
                        <div class="label">result</div>
                        <pre data-testid="tool-result">{prettyJson(results.get(call.id) ?? '(no result yet)')}</pre>
                      </div>
                    </details>
                  ),
                )}
              </li>
            );
          case 'tool':
            return null;
          case 'event':
            return (
              <li key={i} class="event" data-testid="event">
                {m.content}
              </li>
            );
        }
      })}
      {partial && partial.text && (
        <li class="msg assistant streaming">
          <div class="reply" data-testid="partial-reply" data-agent={partialAgent}>
            <AgentBadge agent={partialAgent} />
            <div class="text">{partial.text}</div>
            <span class="typing">writing…</span>
          </div>
        </li>
      )}
    </ol>
  );
}
