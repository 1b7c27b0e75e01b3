-- wrk script: a mixed workload on the tasks API, with no request that is meant to fail.
-- Each wrk thread keeps the ids of the tasks it created: "live" ones are read and updated,
-- "doomed" ones are deleted, so a delete never races a read of the same task.
local live, doomed = {}, {}
local json = { ["Content-Type"] = "application/json" }

request = function()
  local roll = math.random(100)
  if #live == 0 or roll <= 25 then
    return wrk.format("POST", "/tasks", json, '{"title": "Load test", "tags": ["bench"]}')
  elseif roll <= 55 then
    return wrk.format("GET", "/tasks?limit=20")
  elseif roll <= 80 then
    return wrk.format("GET", "/tasks/" .. live[math.random(#live)])
  elseif roll <= 92 or #doomed == 0 then
    return wrk.format("PATCH", "/tasks/" .. live[math.random(#live)], json, '{"status": "completed"}')
  else
    return wrk.format("DELETE", "/tasks/" .. table.remove(doomed))
  end
end

response = function(status, headers, body)
  local location = headers["Location"]
  if status == 201 and location then
    local id = location:match("/tasks/(.+)$")
    if math.random(100) <= 30 then table.insert(doomed, id) else table.insert(live, id) end
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.timeout + e.status
  io.write(string.format("RESULT %d %.3f %.3f %.3f %d\n", summary.requests,
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, errors))
end
