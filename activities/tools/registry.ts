/**
 * The registry: every function tool by name, checked at compile time against TOOL_NAMES (each
 * name exactly one definition, under its own key), plus what the model activity and the Temporal
 * needs from it: the JSON schema derived from the zod parameters. (The Temporal UI's one-line
 * summary of a call is built in the workflow, workflows/summaries.ts, which may not import this.)
 * Adding a tool: declare it in its domain file and add one line here.
 */
import { z } from 'zod';

import type { ToolName } from '../../agents';
import { processRefund, getInvoice } from './billing';
import type { ToolDefinition } from './define';
import { cancelOrder, getOrderStatus, trackShipment, updateShippingAddress } from './order';
import { createSupportTicket, searchHelpDocs } from './tech';

const REGISTRY = {
  get_order_status: getOrderStatus,
  track_shipment: trackShipment,
  cancel_order: cancelOrder,
  update_shipping_address: updateShippingAddress,
  process_refund: processRefund,
  get_invoice: getInvoice,
  search_help_docs: searchHelpDocs,
  create_support_ticket: createSupportTicket,
  // `satisfies` fails the build on a missing name, an extra key, or a definition filed under another name.
} satisfies { readonly [K in ToolName]: ToolDefinition<K> };

export const TOOLS: Readonly<Record<ToolName, ToolDefinition>> = REGISTRY;

/** A JSON schema for a function tool's `parameters`: always an object schema. */
export interface ToolJsonSchema {
  type: 'object';
  properties: Record<string, unknown>;
  required?: string[];
  [keyword: string]: unknown;
}

const schemaCache = new Map<ToolName, ToolJsonSchema>();

/**
 * The JSON schema the model is given for `name`, derived from its zod parameters. `io: 'input'`
 * describes what the model may send (`#12345` allowed, `priority` optional with its default)
 * rather than what execute receives. `$schema` is dropped: providers do not need it.
 */
export function toolJsonSchema(name: ToolName): ToolJsonSchema {
  let schema = schemaCache.get(name);
  if (!schema) {
    const derived: Record<string, unknown> = { ...z.toJSONSchema(TOOLS[name].parameters, { io: 'input' }) };
    delete derived.$schema;
    schema = { properties: {}, ...derived, type: 'object' } as ToolJsonSchema;
    schemaCache.set(name, schema);
  }
  return schema;
}
