//! The server's protocol suite: real HTTP on 127.0.0.1 against a server each
//! test starts. One test binary, so the suite links once.
//!
//! The suite runs twice: on the embedded backend, and with
//! `HEARTH_TEST_BACKEND=redis` on the Redis backend (each test's server gets
//! a `redis-server` of its own). `cluster` always runs on Redis: several
//! nodes on one Redis, and Redis faults.

mod support;

mod bad_input;
mod binary;
mod cluster;
mod cluster_files;
mod durability;
mod files;
mod guards;
mod limits;
mod multi_room;
mod nicks;
mod original_routes;
mod people;
mod posting;
mod ready_race;
mod room_log;
mod search;
mod sessions;
mod slow_consumer;
mod streams;
mod tls;
