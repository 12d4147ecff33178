/**
 * The shape of an agent declaration. Agents are plain data: the workflow reads `tools` and
 * `handoffs` to decide what is allowed, the model activity reads `instructions` and derives the
 * tool schemas. Nothing here may import Node or activity code: the workflow sandbox loads it.
 */

/** Every agent on the desk. Adding an agent: a new file in this folder and one line here. */
export const AGENT_NAMES = ['receptionist', 'order', 'billing', 'tech'] as const;
export type AgentName = (typeof AGENT_NAMES)[number];

/** Every function tool a model may be offered. Each has one declaration under activities/tools/. */
export const TOOL_NAMES = [
  'get_order_status',
  'track_shipment',
  'cancel_order',
  'update_shipping_address',
  'process_refund',
  'get_invoice',
  'search_help_docs',
  'create_support_ticket',
] as const;
export type ToolName = (typeof TOOL_NAMES)[number];

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

export function isToolName(name: string): name is ToolName {
  return (TOOL_NAMES as readonly string[]).includes(name);
}
