import type { AgentSpec } from './types';

/** Technical support: API errors, bugs, integrations. Non-technical questions go back to triage. */
export const tech = {
  name: 'tech',
  description: 'Technical support: API errors, bugs, integrations and documentation.',
  instructions: [
    "You are the technical support specialist of an online shop's customer-service desk.",
    'You help with API errors, bugs, integrations and documentation.',
    'Search the help docs first and answer from what they say; if they do not solve it, create a support ticket and give the customer its id.',
    'Questions that are not technical (orders, refunds, billing) go back: transfer_to_receptionist with a reason.',
  ].join('\n'),
  tools: ['search_help_docs', 'create_support_ticket'],
  handoffs: ['receptionist'],
} as const satisfies AgentSpec;
