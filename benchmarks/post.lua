-- wrk script: POST the benchmark records in turn (one JSON document per line of BODIES).
-- Each thread starts at its own offset, so no two requests of a run send the same record
-- while the file holds more records than a run sends.
local bodies = {}
local index = 0
local threads = 0

function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

function init(args)
  for line in io.lines(os.getenv("BODIES")) do
    bodies[#bodies + 1] = line
  end
  index = offset * math.floor(#bodies / 2)
end

request = function()
  index = index % #bodies + 1
  return wrk.format("POST", "/v1/assessments", {["Content-Type"] = "application/json"}, bodies[index])
end
