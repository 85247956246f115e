# StorageboxFlavour: which flavour of storagebox the TAP tests install.
# SB_FLAVOR=sql (make prove_installcheck FLAVOR=sql) picks the SQL flavour,
# extension storagebox_sql; anything else the C flavour, storagebox.
package StorageboxFlavour;
use strict;
use warnings;
use Exporter 'import';
our @EXPORT = qw($sb_extension $sb_flavour);

our $sb_flavour = (($ENV{SB_FLAVOR} // 'c') eq 'sql') ? 'sql' : 'c';
our $sb_extension = $sb_flavour eq 'sql' ? 'storagebox_sql' : 'storagebox';

1;
