//! The server's protocol suite: real HTTP on 127.0.0.1 against a server each
//! test starts. One test binary, so the suite links once.

mod support;

mod bad_input;
mod binary;
mod durability;
mod limits;
mod multi_room;
mod original_routes;
mod posting;
mod sessions;
mod slow_consumer;
mod streams;
