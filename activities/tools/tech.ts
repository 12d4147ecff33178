/**
 * Tech-support tools: search the help centre, and open a support ticket when the articles do not
 * solve the problem. A ticket is a write, so it runs exactly once per idempotency key like a refund.
 */
import { z } from 'zod';

import { TICKET_PRIORITIES } from '../store';
import { defineTool, ok } from './define';
import { quoted } from './shared';

export const searchHelpDocs = defineTool({
  name: 'search_help_docs',
  description:
    'Search the help-centre articles (API errors such as 401/403/429/500, webhooks, SDKs, pagination, orders API, refunds policy). Returns the three best matches with a snippet.',
  parameters: z.object({
    query: z
      .string()
      .trim()
      .min(2)
      .max(300)
      .describe('What to look for, e.g. "429 too many requests" or "webhook signature".'),
  }),
  mutating: false,
  summary: (args) => quoted(args.query),
  async execute(args, ctx) {
    const results = ctx.helpDocs.search(args.query, 3);
    return ok({
      query: args.query,
      results,
      ...(results.length === 0 && {
        note: 'No article matched. Try other words, or create a support ticket if the problem remains.',
      }),
    });
  },
});

export const createSupportTicket = defineTool({
  name: 'create_support_ticket',
  description:
    'Open a support ticket for an engineer when the help articles do not solve the problem. Give the customer the returned ticket id.',
  parameters: z.object({
    subject: z.string().trim().min(3).max(120).describe('A one-line summary of the problem.'),
    description: z
      .string()
      .trim()
      .min(10)
      .max(4000)
      .describe('What happens, what was expected, error messages, request ids and what was already tried.'),
    priority: z
      .enum(TICKET_PRIORITIES)
      .default('normal')
      .describe('high only when production is down or money is at stake.'),
  }),
  mutating: true,
  summary: (args) => quoted(args.subject),
  async execute(args, ctx) {
    const ticket = await ctx.store.insertTicket({
      customerId: ctx.customerId,
      subject: args.subject,
      description: args.description,
      priority: args.priority,
      idempotencyKey: ctx.idempotencyKey,
      createdAt: ctx.now.toISOString(),
    });
    return ok({
      ticket_id: ticket.id,
      subject: ticket.subject,
      priority: ticket.priority,
      status: ticket.status,
      created_at: ticket.createdAt,
    });
  },
});
