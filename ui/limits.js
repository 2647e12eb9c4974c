/**
 * limits.js — the web client's numbers that must match the server's.
 *
 * Owns: `PAGE_SIZE`, how many messages the server replays per room on a
 * fresh start and the history page size (hearth_proto's constant on the
 * Rust side). Only the web transport reads it (`transport.pageSize`); the
 * chat core asks the transport, so the desktop app's Rust side can give
 * its own.
 */

/** Messages replayed per room on a fresh start; the "Load older" page size. */
export const PAGE_SIZE = 50;
