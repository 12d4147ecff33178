/**
 * The shop's domain rows as the rest of the code sees them: camelCase, money in integer cents,
 * order items parsed. The SQL column names stay inside store.ts.
 */

export const ORDER_STATUSES = ['pending', 'shipped', 'delivered', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TICKET_PRIORITIES = ['low', 'normal', 'high'] as const;
export type TicketPriority = (typeof TICKET_PRIORITIES)[number];

export interface Customer {
  id: string;
  name: string;
  email: string;
  createdAt: string;
}

export interface OrderItem {
  sku: string;
  name: string;
  quantity: number;
  unitPriceCents: number;
}

export interface Order {
  id: string;
  customerId: string;
  status: OrderStatus;
  totalCents: number;
  items: OrderItem[];
  trackingNumber: string | null;
  carrier: string | null;
  shippingAddress: string;
  createdAt: string;
}

export interface Refund {
  id: string;
  orderId: string;
  amountCents: number;
  reason: string;
  idempotencyKey: string;
  createdAt: string;
}

export interface Cancellation {
  id: number;
  orderId: string;
  reason: string | null;
  idempotencyKey: string;
  createdAt: string;
}

export interface AddressChange {
  id: number;
  orderId: string;
  oldAddress: string;
  newAddress: string;
  idempotencyKey: string;
  createdAt: string;
}

export interface SupportTicket {
  id: string;
  customerId: string;
  subject: string;
  description: string;
  priority: TicketPriority;
  status: 'open' | 'pending' | 'closed';
  idempotencyKey: string;
  createdAt: string;
}

/** The recorded outcome of one mutating tool call. */
export interface ToolCallRecord {
  idempotencyKey: string;
  tool: string;
  customerId: string;
  /** Canonical JSON (sorted keys) of the validated arguments. */
  argumentsJson: string;
  resultJson: string;
  createdAt: string;
}

/** Every table that holds shop data (schema_migrations excluded), children before parents. */
export const SHOP_TABLES = [
  'tool_calls',
  'refunds',
  'cancellations',
  'address_changes',
  'support_tickets',
  'orders',
  'customers',
] as const;
export type ShopTable = (typeof SHOP_TABLES)[number];
