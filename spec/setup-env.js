// Quiet in-process logs during tests; spawned plugin servers keep logging (tests read their stderr).
if (!process.env.KONG_PLUGINS_LOG_LEVEL) process.env.KONG_PLUGINS_LOG_LEVEL = 'silent';
