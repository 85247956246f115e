#!/bin/sh
# META.json (PGXN Meta Spec 1.0.0) against the control files: each
# extension's "provides" version is its control file's default_version,
# every control file has its entry and every entry its control file, and
# the distribution's version is the highest of them.  PGXN takes semantic
# versions only, so a default_version of 1.5 is written 1.5.0 there.
set -eu
cd "$(dirname "$0")/.."
exec perl -MJSON::PP -e '
    use strict;
    use warnings;
    sub semver { my $v = shift; $v .= ".0" while ($v =~ tr/.//) < 2; return $v; }
    sub cmpver { my @a = split /\./, $_[0]; my @b = split /\./, $_[1];
                 for my $i (0 .. 2) { return $a[$i] <=> $b[$i] if $a[$i] != $b[$i] } return 0; }
    local $/;
    open my $f, "<", "META.json" or die "META.json: $!\n";
    my $meta = JSON::PP->new->decode(<$f>);
    my @errors;
    push @errors, "meta-spec version is not 1.0.0"
        unless ($meta->{"meta-spec"}{version} // "") eq "1.0.0";
    for my $key (qw(name abstract version maintainer license provides)) {
        push @errors, "no $key" unless defined $meta->{$key};
    }
    my %provides = %{ $meta->{provides} // {} };
    my $highest = "0.0.0";
    for my $control (glob "*.control") {
        (my $ext = $control) =~ s/\.control$//;
        open my $c, "<", $control or die "$control: $!\n";
        my ($default) = <$c> =~ /^\s*default_version\s*=\s*\x27([^\x27]+)\x27/m;
        my $entry = delete $provides{$ext};
        if (!defined $default) { push @errors, "$control has no default_version"; next; }
        if (!$entry) { push @errors, "META.json provides no $ext"; next; }
        push @errors, "$ext: META.json says $entry->{version}, $control says $default"
            unless ($entry->{version} // "") eq semver($default);
        push @errors, "$ext: file $entry->{file} does not exist"
            unless defined $entry->{file} && -e $entry->{file};
        $highest = semver($default) if cmpver(semver($default), $highest) > 0;
        print "$ext: $entry->{version} (default_version $default)\n";
    }
    push @errors, "META.json provides $_, which has no control file" for sort keys %provides;
    push @errors, "the distribution version $meta->{version} is not $highest, the highest of the extensions"
        unless ($meta->{version} // "") eq $highest;
    print STDERR "META.json: $_\n" for @errors;
    print "META.json agrees with the control files\n" unless @errors;
    exit(@errors ? 1 : 0);
'
