/**
 * Text output of the client commands that run-log.ts does not cover: the transcript and the
 * conversation table.
 */
import type { ChatMessage } from '../../contract/transcript';

const MAX_TOOL_RESULT = 160;

/** The transcript as a support lead reads it: who said what, tool calls and their results indented. */
export function formatHistory(history: ChatMessage[]): string {
  const lines: string[] = [];
  for (const m of history) {
    switch (m.role) {
      case 'user':
        lines.push(`customer> ${m.content}`);
        break;
      case 'assistant':
        if (m.content) lines.push(`${m.agent}> ${m.content}`);
        for (const call of m.toolCalls ?? []) lines.push(`  [${m.agent}] ${call.name}(${compactArgs(call.arguments)})`);
        break;
      case 'tool':
        lines.push(`    -> ${truncate(m.content, MAX_TOOL_RESULT)}`);
        break;
      case 'event':
        lines.push(`  * ${m.content}`);
        break;
    }
  }
  return lines.length ? lines.join('\n') : '(no messages yet)';
}

/** A plain text table: a header row, then the rows, columns padded to their widest cell. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** `2025-01-02 10:15:00Z`: UTC, to the second. */
export function formatTime(date: Date | undefined): string {
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')}Z` : '-';
}

/** A tool call's JSON arguments as `order_id="12345", amount=99.99`; anything else as written. */
export function compactArgs(json: string): string {
  try {
    const parsed: unknown = JSON.parse(json || '{}');
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return json;
    return Object.entries(parsed)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(', ');
  } catch {
    return json;
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
