-- bench/report.lua: wrk script; prints one machine-readable line when the
-- run ends: requests/s, p50 and p99 latency (ms), errors (connect, read,
-- write, non-2xx/3xx status, timeout) and bytes read per request
-- (headers included). bench/run parses the line that starts with "RESULT".
done = function(summary, latency, requests)
   local secs = summary.duration / 1e6
   local e = summary.errors
   io.write(string.format("RESULT rps=%.1f p50=%.3f p99=%.3f requests=%d errors=%d bytes=%.0f\n",
      summary.requests / secs,
      latency:percentile(50) / 1000.0,
      latency:percentile(99) / 1000.0,
      summary.requests,
      e.connect + e.read + e.write + e.status + e.timeout,
      summary.requests > 0 and summary.bytes / summary.requests or 0))
end
