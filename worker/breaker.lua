-- Circuit breakers shared by every host through Redis: one per tenant, one per host.
--
-- This file is a library of local functions, meant to be concatenated in front of a script's
-- body (CMake embeds it as the C string BREAKER_LUA, build/generated/breaker_lua.h). Only
-- these functions change breaker state, always inside one script, so every host sees one
-- truth. Key names are built here: ccx runs on one Redis, not a cluster.
--
--   ccx:breaker:tenant:<tenant>, ccx:breaker:host:<host>   hash: state (CLOSED | OPEN |
--       HALF_OPEN), opened_at, until, cooldown_ms (the current one), probes_out, probe_ok,
--       and the settings of the last record (what the gate and the list need)
--   ccx:breaker:window:tenant:<tenant>   list, newest first: "<ts>:<0|1>:<host>"
--   ccx:breaker:window:host:<host>       list, newest first: "<ts>:<0|1>:<tenant>"
--   ccx:breaker:tenants, ccx:breaker:hosts   sets: the names that have a breaker
--   ccx:hosts   zset host -> last seen (ms), written by the claim path, only read here
--   ccx:events  every transition adds one event (field "event", a msgpack map)
--
-- Times are ms, as the caller passes them in `now` (Redis's TIME in the claim and finish
-- scripts), so the tests can drive the clock.

local BREAKER_PREFIX = 'ccx:breaker:'
local BREAKER_COOLDOWN_CAP_MS = 3600000 -- a reopened breaker's cool-down doubles up to this
local BREAKER_DEFAULTS = {
    enabled = 1, window_calls = 20, window_ms = 60000, min_calls = 5, failure_pct = 50,
    cooldown_ms = 30000, probes = 2, min_hosts = 2, count_limits = 0,
    live_ms = 45000,        -- a host seen within this long counts as live (3 leases)
    probe_ttl_ms = 360000,  -- a probe not answered in this long is given back
    events_maxlen = 100000, -- ccx:events is capped at about this many entries (0: no cap)
}

-- Every entry point takes the time as ms; anything else is the caller's bug, told at once.
local function breaker_check_now(now)
    if type(now) ~= 'number' then error('breaker: now must be a number of ms') end
end

local function breaker_key(scope, name)
    return BREAKER_PREFIX .. scope .. ':' .. name
end

local function breaker_window_key(scope, name)
    return BREAKER_PREFIX .. 'window:' .. scope .. ':' .. name
end

-- "window_calls=20 window_ms=60000 ..." -> a table of numbers, the defaults filling in.
local function breaker_settings(text)
    local s = {}
    for k, v in pairs(BREAKER_DEFAULTS) do s[k] = v end
    for k, v in string.gmatch(text or '', '([%w_]+)=(%d+)') do
        if BREAKER_DEFAULTS[k] ~= nil then s[k] = tonumber(v) end
    end
    if s.window_calls < 1 then s.window_calls = 1 end
    if s.probes < 1 then s.probes = 1 end
    return s
end

local function breaker_load(scope, name)
    local flat = redis.call('HGETALL', breaker_key(scope, name))
    local h = {}
    for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
    h.state = h.state or 'CLOSED'
    return h
end

local function breaker_num(h, field, default)
    return tonumber(h[field]) or default
end

-- Adds one event to ccx:events; fields is a table of the event's own fields.
local function breaker_event(kind, scope, name, now, fields, maxlen)
    local event = {kind = kind, scope = scope, ts = now}
    event[scope] = name
    for k, v in pairs(fields) do event[k] = v end
    local xadd = {'XADD', 'ccx:events'}
    if maxlen > 0 then
        xadd[#xadd + 1] = 'MAXLEN'
        xadd[#xadd + 1] = '~'
        xadd[#xadd + 1] = string.format('%d', maxlen)
    end
    xadd[#xadd + 1] = '*'
    xadd[#xadd + 1] = 'event'
    xadd[#xadd + 1] = cmsgpack.pack(event)
    redis.call(unpack(xadd))
end

-- Drops the outcomes past the window's age from its old end (outcomes from hosts whose
-- clocks differ a little may sit slightly out of order; breaker_stats skips those).
local function breaker_trim(wkey, now, window_ms)
    while true do
        local last = redis.call('LINDEX', wkey, -1)
        if not last then return end
        local ts = tonumber(string.match(last, '^(%d+):'))
        if ts and ts >= now - window_ms then return end
        redis.call('RPOP', wkey)
    end
end

-- What the window holds now: calls, failures, the distinct names (hosts for a tenant's
-- window, tenants for a host's) its failures came from, and every name seen.
local function breaker_stats(wkey, now, window_ms)
    local st = {calls = 0, failures = 0, failing = {}, failing_count = 0, seen_count = 0}
    local seen = {}
    for _, item in ipairs(redis.call('LRANGE', wkey, 0, -1)) do
        local ts, failed, other = string.match(item, '^(%d+):([01]):(.*)$')
        if ts and tonumber(ts) >= now - window_ms then
            st.calls = st.calls + 1
            if not seen[other] then
                seen[other] = true
                st.seen_count = st.seen_count + 1
            end
            if failed == '1' then
                st.failures = st.failures + 1
                if not st.failing[other] then
                    st.failing[other] = true
                    st.failing_count = st.failing_count + 1
                end
            end
        end
    end
    st.failure_pct = st.calls > 0 and math.floor(st.failures * 100 / st.calls) or 0
    return st
end

local function breaker_names(set)
    local names = {}
    for name, _ in pairs(set) do names[#names + 1] = name end
    table.sort(names)
    return names
end

-- The live hosts of the fleet: 0 or 1 counts as a fleet of one.
local function breaker_live_hosts(now, live_ms)
    local live = redis.call('ZCOUNT', 'ccx:hosts', string.format('%d', now - live_ms), '+inf')
    if live < 1 then return 1 end
    return live
end

local function breaker_stats_fields(scope, st)
    local fields = {failure_pct = st.failure_pct, calls = st.calls, failures = st.failures}
    if scope == 'tenant' then
        fields.failing_hosts = st.failing_count
    else
        fields.failing_tenants = st.failing_count
    end
    return fields
end

local function breaker_open(scope, name, now, h, cooldown_ms, reason, st)
    local key = breaker_key(scope, name)
    local until_ms = now + cooldown_ms
    redis.call('HSET', key, 'state', 'OPEN', 'opened_at', string.format('%d', now),
               'until', string.format('%d', until_ms), 'cooldown_ms',
               string.format('%d', cooldown_ms), 'probes_out', 0, 'probe_ok', 0)
    local fields = breaker_stats_fields(scope, st)
    fields['until'] = until_ms
    fields.reason = reason
    fields.previous = h.state
    breaker_event('breaker_opened', scope, name, now, fields,
                  breaker_num(h, 'events_maxlen', BREAKER_DEFAULTS.events_maxlen))
end

local function breaker_close(scope, name, now, h, kind, reason, st)
    redis.call('HSET', breaker_key(scope, name), 'state', 'CLOSED', 'until', 0,
               'probes_out', 0, 'probe_ok', 0, 'cooldown_ms',
               h.base_cooldown_ms or BREAKER_DEFAULTS.cooldown_ms)
    -- The failures that opened it must not open it again at once.
    redis.call('DEL', breaker_window_key(scope, name))
    local fields = breaker_stats_fields(scope, st)
    fields.reason = reason
    fields.previous = h.state
    breaker_event(kind, scope, name, now, fields,
                  breaker_num(h, 'events_maxlen', BREAKER_DEFAULTS.events_maxlen))
end

-- OPEN -> HALF_OPEN once the cool-down is over; HALF_OPEN lets `probes` jobs be in flight.
-- A probe not answered within probe_ttl_ms (its host died) is given back.
local function breaker_gate(scope, name, now)
    breaker_check_now(now)
    local h = breaker_load(scope, name)
    local key = breaker_key(scope, name)
    if h.state == 'CLOSED' then return 'closed' end
    if h.state == 'OPEN' then
        if now < breaker_num(h, 'until', 0) then return 'open' end
        redis.call('HSET', key, 'state', 'HALF_OPEN', 'half_open_at', string.format('%d', now),
                   'probes_out', 0, 'probe_ok', 0)
        h.probes_out = '0'
        h.half_open_at = tostring(now)
        breaker_event('breaker_half_open', scope, name, now,
                      {['until'] = breaker_num(h, 'until', 0), reason = 'cooldown_over',
                       previous = 'OPEN'},
                      breaker_num(h, 'events_maxlen', BREAKER_DEFAULTS.events_maxlen))
    end
    local probes_out = breaker_num(h, 'probes_out', 0)
    local probe_at = breaker_num(h, 'probe_at', 0)
    if probes_out > 0 and now >= probe_at + breaker_num(h, 'probe_ttl_ms',
                                                        BREAKER_DEFAULTS.probe_ttl_ms) then
        probes_out = 0
    end
    if probes_out >= breaker_num(h, 'probes', BREAKER_DEFAULTS.probes) then return 'open' end
    redis.call('HSET', key, 'probes_out', probes_out + 1, 'probe_at', string.format('%d', now))
    return 'probe'
end

-- "closed" | "probe" | "open" for a job of tenant about to be claimed by host. The tenant's
-- breaker is fleet-wide, so host changes nothing today; the claim path passes it so that a
-- per-host rule can come without touching its callers.
local function breaker_gate_tenant(tenant, host, now)
    return breaker_gate('tenant', tenant, now)
end

-- "closed" | "probe" | "open" for host itself: "open" means it claims nothing.
local function breaker_gate_host(host, now)
    return breaker_gate('host', host, now)
end

-- Adds one outcome to a breaker's window and makes the breaker's transition, if any.
-- other: the host (tenant window) or tenant (host window). required(st) says how many
-- distinct names the failures must come from.
local function breaker_record_one(scope, name, other, now, failed, was_probe, s, required)
    local key = breaker_key(scope, name)
    local wkey = breaker_window_key(scope, name)
    local h = breaker_load(scope, name)

    redis.call('SADD', BREAKER_PREFIX .. scope .. 's', name)
    redis.call('HSET', key, 'state', h.state, 'base_cooldown_ms', s.cooldown_ms,
               'probes', s.probes, 'probe_ttl_ms', s.probe_ttl_ms, 'window_calls',
               s.window_calls, 'window_ms', s.window_ms, 'events_maxlen', s.events_maxlen)
    h.base_cooldown_ms = tostring(s.cooldown_ms)
    h.events_maxlen = tostring(s.events_maxlen)
    redis.call('LPUSH', wkey, string.format('%d:%d:%s', now, failed and 1 or 0, other))
    redis.call('LTRIM', wkey, 0, s.window_calls - 1)
    breaker_trim(wkey, now, s.window_ms)
    local st = breaker_stats(wkey, now, s.window_ms)

    if h.state == 'HALF_OPEN' and was_probe then
        local probes_out = breaker_num(h, 'probes_out', 0)
        if probes_out > 0 then redis.call('HSET', key, 'probes_out', probes_out - 1) end
        if failed then
            local cooldown = math.min(breaker_num(h, 'cooldown_ms', s.cooldown_ms) * 2,
                                      BREAKER_COOLDOWN_CAP_MS)
            breaker_open(scope, name, now, h, math.max(cooldown, s.cooldown_ms),
                         'probe_failed', st)
            return 'opened'
        end
        local ok = redis.call('HINCRBY', key, 'probe_ok', 1)
        if ok >= s.probes then
            breaker_close(scope, name, now, h, 'breaker_closed', 'probes_succeeded', st)
            return 'closed'
        end
        return 'probe_ok'
    end
    -- An OPEN or HALF_OPEN breaker's other outcomes are jobs claimed before it opened:
    -- they count in the window, they move nothing.
    if h.state ~= 'CLOSED' then return 'none' end
    if st.calls >= s.min_calls and st.failures * 100 >= s.failure_pct * st.calls and
       st.failures > 0 and st.failing_count >= required(st) then
        breaker_open(scope, name, now, h, s.cooldown_ms, 'failure_rate', st)
        return 'opened'
    end
    return 'none'
end

-- Records a finished job's outcome in its tenant's and its host's breaker.
--   tenant_failed, host_failed: booleans or "0"/"1" (the C side classifies the result)
--   was_probe: bit 1 the job was its tenant's probe, bit 2 its host's ("0" when neither)
--   settings: "enabled=1 window_calls=20 ..." (brk_settings_format): the tenant's
--   host_settings: the same for the host's breaker (the policy's defaults, not any one
--   tenant's); nil or "" takes settings. enabled=0 there leaves host breakers alone.
-- Returns {tenant transition, host transition}: "opened" | "closed" | "probe_ok" | "none"
-- ("disabled" for a breaker that is off).
local function breaker_record(tenant, host, now, tenant_failed, host_failed, was_probe,
                              settings, host_settings)
    breaker_check_now(now)
    local s = breaker_settings(settings)
    local hs = s
    if host_settings and host_settings ~= '' then hs = breaker_settings(host_settings) end
    local probe = tonumber(was_probe) or 0
    local function truthy(v) return v == true or v == 1 or v == '1' end
    local tenant_result = 'disabled'

    if s.enabled == 0 then
        -- Turned off while not closed: close it, or its gate would go on refusing (and a
        -- half-open one would let through only its probes, whose outcomes nobody records).
        local h = breaker_load('tenant', tenant)
        if h.state ~= 'CLOSED' then
            breaker_close('tenant', tenant, now, h, 'breaker_closed', 'disabled',
                          {failure_pct = 0, calls = 0, failures = 0, failing_count = 0})
            tenant_result = 'closed'
        end
    else
        local live = breaker_live_hosts(now, s.live_ms)
        tenant_result = breaker_record_one('tenant', tenant, host, now, truthy(tenant_failed),
            probe % 2 == 1, s, function(st) return math.max(1, math.min(s.min_hosts, live)) end)
    end
    -- One bad tenant must not take a host out: its failures must come from two tenants,
    -- always. Counting one when the window had seen only one let a tenant whose own jobs
    -- fail ccx (a seccomp profile that cannot start a program, say) stop a host while the
    -- other tenants merely had no job in its window.
    local host_result = 'disabled'
    if hs.enabled ~= 0 then
        host_result = breaker_record_one('host', host, tenant, now, truthy(host_failed),
            math.floor(probe / 2) % 2 == 1, hs,
            function(st) return 2 end)
    end
    return {tenant_result, host_result}
end

-- Gives back the probe slots a job held without an outcome to record (a probe answered
-- circuit_open by the other gate, cancelled, expired, rejected): was_probe as for
-- breaker_record. Moves no state and writes no event.
local function breaker_release_probe(tenant, host, was_probe)
    local probe = tonumber(was_probe) or 0
    local held = {}
    if probe % 2 == 1 then held[#held + 1] = breaker_key('tenant', tenant) end
    if math.floor(probe / 2) % 2 == 1 then held[#held + 1] = breaker_key('host', host) end
    for _, key in ipairs(held) do
        local out = tonumber(redis.call('HGET', key, 'probes_out')) or 0
        if redis.call('HGET', key, 'state') == 'HALF_OPEN' and out > 0 then
            redis.call('HSET', key, 'probes_out', out - 1)
        end
    end
end

-- Closes a breaker by hand: window cleared, cool-down back to its base, a breaker_reset
-- event. scope "tenant" or "host". Returns 1, or 0 when there is no such breaker.
local function breaker_reset(scope, name, now)
    breaker_check_now(now)
    if redis.call('EXISTS', breaker_key(scope, name)) == 0 then return 0 end
    local h = breaker_load(scope, name)
    -- The event tells what the reset threw away: the state and window before it.
    local st = breaker_stats(breaker_window_key(scope, name), now,
                             breaker_num(h, 'window_ms', BREAKER_DEFAULTS.window_ms))
    breaker_close(scope, name, now, h, 'breaker_reset', 'reset', st)
    return 1
end

-- Every breaker, as a msgpack array of maps (scope, tenant or host, state, calls,
-- failures, failure_pct, failing: the failing hosts or tenants, opened_at, until,
-- probes_out, cooldown_ms), tenants first, each sorted by name. Changes nothing.
local function breaker_list(now)
    breaker_check_now(now)
    local rows = {}
    for _, scope in ipairs({'tenant', 'host'}) do
        local names = redis.call('SMEMBERS', BREAKER_PREFIX .. scope .. 's')
        table.sort(names)
        for _, name in ipairs(names) do
            local h = breaker_load(scope, name)
            local st = breaker_stats(breaker_window_key(scope, name), now,
                                     breaker_num(h, 'window_ms', BREAKER_DEFAULTS.window_ms))
            local row = {scope = scope, state = h.state, calls = st.calls,
                         failures = st.failures, failure_pct = st.failure_pct,
                         failing = breaker_names(st.failing),
                         opened_at = breaker_num(h, 'opened_at', 0),
                         ['until'] = breaker_num(h, 'until', 0),
                         probes_out = breaker_num(h, 'probes_out', 0),
                         cooldown_ms = breaker_num(h, 'cooldown_ms',
                                                   breaker_num(h, 'base_cooldown_ms', 0))}
            row[scope] = name
            rows[#rows + 1] = row
        end
    end
    return cmsgpack.pack(rows)
end
