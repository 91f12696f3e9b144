-- Scheduled antivirus scans (Windows Defender's own task).
SELECT name, action, path, enabled, state, last_run_time, next_run_time, last_run_code
FROM scheduled_tasks
WHERE path LIKE '\Microsoft\Windows\Windows Defender\%';
