-- Sockets to mail ports with their owning process.
SELECT s.pid, p.name AS process, s.family, s.protocol, s.local_address, s.local_port, s.remote_address,
       s.remote_port, s.state
FROM process_open_sockets s LEFT JOIN processes p USING (pid)
WHERE s.remote_port IN (25, 465, 587, 2525, 110, 995, 143, 993)
   OR (s.local_port IN (25, 465, 587, 2525) AND s.state = 'LISTEN');
