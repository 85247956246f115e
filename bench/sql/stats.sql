-- Read one bank's counts from sb_banks (-D bank=...).
SELECT * FROM sb_banks WHERE bank = :bank;
