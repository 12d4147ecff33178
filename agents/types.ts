/**
 * The shape of an agent declaration. Agents are plain data: the workflow reads `tools` and
 * `handoffs` to decide what is allowed, the model activity reads `instructions` and derives the
 * tool schemas. Nothing here may import Node or activity code: the workflow sandbox loads it.
 * (Tool names are a type from the tool registry: a type import, erased before the sandbox sees it.)
 */
import type { ToolName } from '../activities/tools/registry';

export type { ToolName };

/** Every agent on the desk. Adding an agent: a new file in this folder and one line here. */
export const AGENT_NAMES = ['receptionist', 'order', 'billing', 'tech'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

export interface AgentSpec {
  readonly name: AgentName;
  /** One line: what this agent handles. Used in the transfer tool's description. */
  readonly description: string;
  /** The system prompt for this agent's model steps. */
  readonly instructions: string;
  /** Function tools this agent may call; the workflow refuses any other. */
  readonly tools: readonly ToolName[];
  /** Agents this one may hand off to, each offered as `transfer_to_<agent>`. */
  readonly handoffs: readonly AgentName[];
}

/** The prefix of every handoff tool the model sees. */
export const HANDOFF_PREFIX = 'transfer_to_';

export function handoffToolName(agent: AgentName): string {
  return `${HANDOFF_PREFIX}${agent}`;
}

export function isAgentName(name: string): name is AgentName {
  return (AGENT_NAMES as readonly string[]).includes(name);
}
