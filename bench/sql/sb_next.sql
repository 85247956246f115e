-- storagebox dispenser: one number (-D disp=...).
SELECT sb_next(:disp);
