-- wrk script: POST the benchmark records in turn (one JSON document per line of BODIES).
local bodies = {}
local index = 0

function init(args)
  for line in io.lines(os.getenv("BODIES")) do
    bodies[#bodies + 1] = line
  end
end

request = function()
  index = index % #bodies + 1
  return wrk.format("POST", "/v1/assessments", {["Content-Type"] = "application/json"}, bodies[index])
end
