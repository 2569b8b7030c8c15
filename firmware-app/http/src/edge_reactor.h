// Internal to http: what the Edge reactor's two files share (edge_reactor.cpp, edge_reading.cpp).
#pragma once

#include <cstddef>
#include <string>

namespace resetd::http {

// What all unfinished requests in the reactor may hold together (their
// buffers' capacity). 512 connections x (32 KiB head + 64 KiB body), with
// the buffers' growth, pinned ~77 MiB; the unit's MemoryHigh leaves 64 MiB
// beside the hash slots. Past it, the connection holding the most goes.
inline constexpr size_t kUnfinishedBytes = 16u << 20;

// The error answer of spec §7, written by the connection layer itself.
std::string error_response(int status, const char* code, const char* message);

}  // namespace resetd::http
