//! The programs' tables, as data: for every program (or subcommand, `git log`) that may be a
//! read, the options it is known to take safely, the options that raise the class, what its
//! operands are and how it parses its command line. A command is `read` only when its program
//! is here and every option it carries is known; any other option makes it `unknown`.
//!
//! The lists follow each program's manual (GNU coreutils, grep, sed, gawk, findutils, tar,
//! procps, util-linux, iproute2, git, curl, wget, OpenSSH, kubectl, helm). An option left out
//! by mistake only costs an approval; an option listed as safe that writes or runs code would
//! be a hole, so options with effects are listed under `raise` with what they do.

use super::options::{Effect, Operands, Style, Table};
use crate::verdict::Class;

use Effect::{Custom, Raise, ReadsFile, RunsProgram, RunsShell, WritesFile};
use Operands::{Files, FirstThenFiles, Network, Paths, Text};
use Style::{Exact, Gnu, GnuStop, Posix, Words};

const fn write(why: &'static str) -> Effect {
    Raise(Class::Write, why)
}

const fn unknown(why: &'static str) -> Effect {
    Raise(Class::Unknown, why)
}

const fn sensitive(why: &'static str) -> Effect {
    Raise(Class::Sensitive, why)
}

/// Every group of tables.
pub(crate) const ALL: &[&[Table]] =
    &[TEXT, FILES, SYSTEM, NETWORK, DATABASES, SHELL, GIT, KUBECTL, HELM, CONTAINERS, WRAPPERS];

/// Programs that read files and print text.
pub(crate) const TEXT: &[Table] = &[
    Table::new("cat", Gnu, Files, "-A -b -e -E -n -s -t -T -u -v --show-all --number-nonblank --number --squeeze-blank --show-ends --show-tabs --show-nonprinting --help --version"),
    Table::new("tac", Gnu, Files, "-b -r -s= --before --regex --separator= --help --version"),
    Table::new("head", Gnu, Files, "-c= -n= -q -v -z --bytes= --lines= --quiet --silent --verbose --zero-terminated --help --version").numbers(),
    Table::new("tail", Gnu, Files, "-c= -n= -f -F -q -s= -v -z --bytes= --lines= --follow?= --retry --pid= --quiet --silent --sleep-interval= --verbose --zero-terminated --max-unchanged-stats= --debug --help --version").numbers(),
    Table::new("grep", Gnu, FirstThenFiles, GREP).raise(GREP_FILES).numbers(),
    Table::new("egrep", Gnu, FirstThenFiles, GREP).raise(GREP_FILES).numbers(),
    Table::new("fgrep", Gnu, FirstThenFiles, GREP).raise(GREP_FILES).numbers(),
    Table::new("zgrep", Gnu, FirstThenFiles, GREP).raise(GREP_FILES).numbers(),
    Table::new("rg", Exact, FirstThenFiles, "-a -b -c -C= -d= -e= -E= -F -g= -H -i -I -j= -l -L -m= -M= -n -N -o -p -P -q -r= -s -S -t= -T= -u -U -v -V -w -x -z -0 -A= -B= -h --after-context= --before-context= --context= --binary --no-binary --block-buffered --line-buffered --byte-offset --case-sensitive --color= --colors= --column --no-column --context-separator= --no-context-separator --count --count-matches --crlf --debug --trace --dfa-size-limit= --encoding= --engine= --field-context-separator= --field-match-separator= --files --files-with-matches --files-without-match --fixed-strings --follow --glob= --glob-case-insensitive --heading --no-heading --hidden --no-hidden --iglob= --ignore-case --include-zero --invert-match --json --no-json --line-number --no-line-number --line-regexp --max-columns= --max-columns-preview --max-count= --max-depth= --max-filesize= --mmap --no-mmap --multiline --multiline-dotall --no-config --no-ignore --no-ignore-dot --no-ignore-exclude --no-ignore-files --no-ignore-global --no-ignore-parent --no-ignore-vcs --no-messages --no-require-git --no-unicode --null --null-data --one-file-system --only-matching --passthru --passthrough --path-separator= --pcre2 --pretty --quiet --regex-size-limit= --regexp= --replace= --search-zip --smart-case --sort= --sortr= --stats --text --threads= --trim --type= --type-not= --type-add= --type-clear= --type-list --unrestricted --vimgrep --with-filename --no-filename --word-regexp --auto-hybrid-regex --hyperlink-format= --help --version --generate=").raise(&[
        ("--pre= --pre-glob=", RunsProgram),
        ("-f= --file= --ignore-file=", ReadsFile),
    ]),
    Table::new("ag", Gnu, FirstThenFiles, "-a -A= -B= -C= -c -f -g= -G= -H -i -l -L -m= -n -o -p= -Q -r -s -S -t -u -U -v -w -z -0 --ackmate --all-text --all-types --after= --before= --context?= --count --color --nocolor --column --nocolumn --depth= --filename --nofilename --files-with-matches --files-without-matches --follow --group --nogroup --heading --noheading --hidden --ignore= --ignore-case --ignore-dir= --invert-match --literal --max-count= --numbers --nonumbers --only-matching --print-long-lines --search-binary --search-zip --silent --skip-vcs-ignores --smart-case --stats --unrestricted --vimgrep --word-regexp --workers= --null --print0 --help --version"),
    Table::new("ack", Gnu, FirstThenFiles, "-i -I -S -v -w -Q -l -L -c -h -H -n -o -k -f -g= -r -R -1 -s -x -A= -B= -C?= --ignore-case --no-ignore-case --smart-case --invert-match --word-regexp --literal --files-with-matches --files-without-matches --count --no-filename --with-filename --line= --column --no-column --context?= --after-context= --before-context= --color --nocolor --colour --nocolour --heading --noheading --break --nobreak --group --nogroup --type= --known-types --sort-files --follow --nofollow --recurse --no-recurse --ignore-dir= --noignore-dir= --ignore-file= --nopager --noenv --print0 --help --version").raise(&[
        ("--pager= --output=", unknown("runs Perl code or a pager")),
        ("--ackrc= --env", unknown("reads options from a file or the environment")),
    ]),
    Table::new("wc", Gnu, Paths, "-c -m -l -L -w --bytes --chars --lines --words --max-line-length --total= --help --version").raise(&[("--files0-from=", ReadsFile)]),
    Table::new("cut", Gnu, Files, "-b= -c= -d= -f= -n -s -z --bytes= --characters= --delimiter= --fields= --complement --only-delimited --output-delimiter= --zero-terminated --help --version"),
    Table::new("tr", Gnu, Text, "-c -C -d -s -t --complement --delete --squeeze-repeats --truncate-set1 --help --version"),
    Table::new("sort", Gnu, Files, "-b -d -f -g -h -i -M -n -R -r -V -c -C -k= -m -s -S= -t= -T= -u -z --ignore-leading-blanks --dictionary-order --ignore-case --general-numeric-sort --ignore-nonprinting --month-sort --human-numeric-sort --numeric-sort --random-sort --reverse --sort= --version-sort --batch-size= --check?= --debug --key= --merge --stable --buffer-size= --field-separator= --temporary-directory= --parallel= --unique --zero-terminated --help --version").raise(&[
        ("-o= --output=", WritesFile),
        ("--compress-program=", RunsProgram),
        ("--files0-from= --random-source=", ReadsFile),
    ]),
    Table::new("uniq", Gnu, Files, "-c -d -D -f= -i -s= -u -z -w= --all-repeated?= --count --repeated --group?= --ignore-case --skip-fields= --skip-chars= --unique --zero-terminated --check-chars= --help --version"),
    Table::new("comm", Gnu, Files, "-1 -2 -3 -z --check-order --nocheck-order --output-delimiter= --total --zero-terminated --help --version"),
    Table::new("join", Gnu, Files, "-a= -e= -i -j= -o= -t= -v= -1= -2= -z --check-order --nocheck-order --header --ignore-case --zero-terminated --help --version"),
    Table::new("paste", Gnu, Files, "-d= -s -z --delimiters= --serial --zero-terminated --help --version"),
    Table::new("nl", Gnu, Files, "-b= -d= -f= -h= -i= -l= -n= -p -s= -v= -w= --body-numbering= --section-delimiter= --footer-numbering= --header-numbering= --line-increment= --join-blank-lines= --number-format= --no-renumber --number-separator= --starting-line-number= --number-width= --help --version"),
    Table::new("rev", Gnu, Files, "-0 -h -V --zero --help --version"),
    Table::new("fold", Gnu, Files, "-b -s -w= --bytes --characters --spaces --width= --help --version").numbers(),
    Table::new("fmt", Gnu, Files, "-c -p= -s -t -u -w= -g= --crown-margin --prefix= --split-only --tagged-paragraph --uniform-spacing --width= --goal= --help --version").numbers(),
    Table::new("pr", Gnu, Files, "-a -c -d -D= -e?= -F -f -h= -i?= -J -l= -m -n?= -N= -o= -r -s?= -S?= -t -T -v -w= -W= --across --show-control-chars --double-space --date-format= --expand-tabs?= --form-feed --header= --output-tabs?= --join-lines --length= --merge --number-lines?= --first-line-number= --indent= --no-file-warnings --separator?= --sep-string?= --omit-header --omit-pagination --show-nonprinting --width= --page-width= --columns= --pages= --help --version").numbers(),
    Table::new("column", Gnu, Files, "-c= -d -e -H= -J -l= -L -n= -N= -o= -O= -r= -R= -s= -t -T= -W= -x -E= --columns= --table --table-name= --table-columns= --table-order= --table-right= --table-truncate= --table-noextreme= --table-noheadings --table-header-repeat --table-hide= --table-wrap= --json --keep-empty-lines --output-separator= --separator= --fillrows --help --version"),
    Table::new("expand", Gnu, Files, "-i -t= --initial --tabs= --help --version").numbers(),
    Table::new("unexpand", Gnu, Files, "-a -t= --all --first-only --tabs= --help --version").numbers(),
    Table::new("shuf", Gnu, Files, "-e -i= -n= -r -z --echo --input-range= --head-count= --repeat --zero-terminated --help --version").raise(&[
        ("-o= --output=", WritesFile),
        ("--random-source=", ReadsFile),
    ]),
    Table::new("numfmt", Gnu, Text, "-d= -z --debug --delimiter= --field= --format= --from= --from-unit= --grouping --header?= --invalid= --padding= --round= --suffix= --to= --to-unit= --zero-terminated --help --version"),
    Table::new("tsort", Gnu, Files, "--help --version"),
    Table::new("look", Gnu, FirstThenFiles, "-a -b -d -f -t= --alternative --alphanum --ignore-case --terminate= --help --version"),
    Table::new("strings", Gnu, Files, "-a -d -f -n= -t= -e= -o -w -s= -T= -U= --all --data --print-file-name --bytes= --radix= --encoding= --include-all-whitespace --output-separator= --target= --unicode= --help --version").numbers(),
    Table::new("od", Gnu, Files, "-A= -j= -N= -t= -v -w?= -S= -a -b -c -d -f -i -l -o -s -x --address-radix= --skip-bytes= --read-bytes= --format= --output-duplicates --width?= --strings?= --endian= --traditional --help --version"),
    Table::new("hexdump", Gnu, Files, "-b -c -C -d -o -x -e= -n= -s= -v -L?= --one-byte-octal --one-byte-char --canonical --two-bytes-decimal --two-bytes-octal --two-bytes-hex --format= --length= --skip= --no-squeezing --color?= --help --version").raise(&[("-f= --format-file=", ReadsFile)]),
    Table::new("base64", Gnu, Files, "-d -i -w= --decode --ignore-garbage --wrap= --help --version"),
    Table::new("base32", Gnu, Files, "-d -i -w= --decode --ignore-garbage --wrap= --help --version"),
    Table::new("basenc", Gnu, Files, "-d -i -w= --decode --ignore-garbage --wrap= --base64 --base64url --base58 --base32 --base32hex --base16 --base2msbf --base2lsbf --z85 --help --version"),
    Table::new("md5sum", Gnu, Paths, SUMS),
    Table::new("sha1sum", Gnu, Paths, SUMS),
    Table::new("sha224sum", Gnu, Paths, SUMS),
    Table::new("sha256sum", Gnu, Paths, SUMS),
    Table::new("sha384sum", Gnu, Paths, SUMS),
    Table::new("sha512sum", Gnu, Paths, SUMS),
    Table::new("b2sum", Gnu, Paths, "-b -c -t -z -w -l= --binary --check --tag --text --zero --ignore-missing --quiet --status --strict --warn --length= --help --version"),
    Table::new("cksum", Gnu, Paths, "-a= -b -c -l= -t -z -w --algorithm= --base64 --check --length= --raw --tag --untagged --zero --ignore-missing --quiet --status --strict --warn --debug --help --version"),
    Table::new("sum", Gnu, Paths, "-r -s --sysv --help --version"),
    Table::new("md5", Posix, Paths, "-q -r -s= -t -p"),
    Table::new("diff", Gnu, Files, "-a -b -B -c -C= -d -D= -e -E -f -F= -H -i -I= -l -L= -n -N -p -P -q -r -s -S= -t -T -u -U= -v -w -W= -x= -X= -y -Z --normal --brief --report-identical-files --context?= --unified?= --ed --rcs --side-by-side --width= --left-column --suppress-common-lines --show-c-function --show-function-line= --label= --expand-tabs --initial-tab --tabsize= --suppress-blank-empty --new-file --unidirectional-new-file --ignore-case --ignore-file-name-case --no-ignore-file-name-case --ignore-tab-expansion --ignore-trailing-space --ignore-space-change --ignore-all-space --ignore-blank-lines --ignore-matching-lines= --text --strip-trailing-cr --recursive --no-dereference --exclude= --exclude-from= --starting-file= --from-file= --to-file= --minimal --speed-large-files --horizon-lines= --line-format= --old-line-format= --new-line-format= --unchanged-line-format= --old-group-format= --new-group-format= --changed-group-format= --unchanged-group-format= --ifdef= --color?= --palette= --paginate --help --version").numbers(),
    Table::new("cmp", Gnu, Files, "-b -i= -l -n= -s --print-bytes --ignore-initial= --verbose --bytes= --quiet --silent --help --version"),
    Table::new("zcat", Gnu, Files, "-f -q -v -l -t -r --force --quiet --verbose --list --test --recursive --help --version"),
    Table::new("bzcat", Gnu, Files, "-s -v -q --small --verbose --quiet --help --version"),
    Table::new("xzcat", Gnu, Files, "-q -v -T= -M= -F= --quiet --verbose --threads= --memlimit= --format= --single-stream --ignore-check --help --version"),
    Table::new("zdiff", Gnu, Files, "-a -b -B -c -C= -i -q -u -U= -w -y --brief --unified?= --context?= --ignore-case --ignore-all-space --help --version"),
    Table::new("jq", Gnu, FirstThenFiles, "-r -j -c -n -e -s -a -S -C -M -R -h -V --tab --indent= --arg== --argjson== --args --jsonargs --raw-input --raw-output --raw-output0 --join-output --compact-output --null-input --exit-status --slurp --ascii-output --sort-keys --color-output --monochrome-output --seq --stream --stream-errors --unbuffered --build-configuration --help --version").raise(&[
        ("-f= --from-file= -L= --library-path=", ReadsFile),
        ("--slurpfile== --rawfile==", ReadsFile),
    ]),
    Table::new("yq", Exact, FirstThenFiles, "-C -e -I= -M -N -n -o= -p= -P -r -s= -v -h -V --colors --exit-status --indent= --no-colors --no-doc --null-input --output-format= --input-format= --prettyPrint --unwrapScalar= --expression= --from-file= --header-preprocess= --front-matter= --xml-attribute-prefix= --xml-content-name= --csv-separator= --tsv-auto-parse= --lua-unquoted --properties-separator= --nul-output -0 --split-exp= --shell-completion= --help --version").raise(&[
        ("-i --inplace", write("edits the file in place")),
    ]),
    Table::new("xmllint", Gnu, Files, "--noout --format --xpath= --valid --dtdvalid= --schema= --relaxng= --encode= --noblanks --nonet --nowarning --recover --pretty= --html --xmlout --c14n --c14n11 --exc-c14n --quiet --debug --version --stream --walker --noent --nocdata --nsclean --timing --repeat --insert --auto --load-trace").raise(&[
        ("--output= -o=", WritesFile),
        ("--shell", Raise(Class::Interactive, "opens a shell on the document")),
    ]),
    Table::new("yamllint", Gnu, Files, "-c= -d= -f= -s --config-file= --config-data= --format= --strict --no-warnings --list-files --help --version -v"),
    Table::new("shellcheck", Gnu, Files, "-a -C?= -e= -f= -i= -o= -P= -s= -S= -V -W= -x --check-sourced --color?= --include= --exclude= --extended-analysis= --format= --list-optional --norc --enable= --source-path= --shell= --severity= --version --wiki-link-count= --external-sources --help"),
];

const GREP: &str = "-E -F -G -P -e= -i -y -v -w -x -c -L -l -m= -o -q -s -b -H -h -n -T -Z -z -A= -B= -C= -a -I -d= -D= -r -R -U -V --extended-regexp --fixed-strings --basic-regexp --perl-regexp --regexp= --ignore-case --no-ignore-case --invert-match --word-regexp --line-regexp --count --color?= --colour?= --files-without-match --files-with-matches --max-count= --only-matching --quiet --silent --no-messages --byte-offset --with-filename --no-filename --label= --line-number --initial-tab --null --null-data --after-context= --before-context= --context= --text --binary --binary-files= --devices= --directories= --exclude= --exclude-dir= --include= --recursive --dereference-recursive --line-buffered --help --version";
const GREP_FILES: &[(&str, Effect)] = &[("-f= --file= --exclude-from=", ReadsFile)];
const SUMS: &str = "-b -c -t -z -w --binary --check --tag --text --zero --ignore-missing --quiet --status --strict --warn --help --version";

/// Programs that list or describe files, and the file tools whose reading forms are reads.
pub(crate) const FILES: &[Table] = &[
    Table::new("tee", Gnu, Text, "-a -i -p --append --ignore-interrupts --output-error?= --help --version"),
    Table::new("sed", Gnu, FirstThenFiles, "-n -e= -E -r -s -z -u -l= -b --quiet --silent --expression= --regexp-extended --separate --null-data --zero-terminated --unbuffered --line-length= --posix --sandbox --debug --follow-symlinks --binary --help --version").raise(&[
        ("-i?= --in-place?=", Raise(Class::Write, "edits files in place")),
        ("-f= --file=", unknown("runs a sed script from a file")),
    ]),
    Table::new("awk", Gnu, FirstThenFiles, "-F= -v= -b -c -C -g -h -M -N -n -O -P -r -s -S -t -V --field-separator= --assign= --characters-as-bytes --traditional --copyright --gen-pot --help --bignum --use-lc-numeric --non-decimal-data --optimize --posix --re-interval --no-optimize --sandbox --lint-old --version -e= --source= -L?= --lint?= -i= --include=").raise(&[
        ("-f= --file= -E= --exec=", unknown("runs an awk program from a file")),
        ("-l= --load=", unknown("loads an extension, which runs code")),
        ("-o?= --pretty-print?= -p?= --profile?= -d?= --dump-variables?=", write("writes a file (awkprof.out, awkvars.out)")),
        ("-D?= --debug?=", Raise(Class::Interactive, "starts the debugger")),
        ("-W=", unknown("takes an implementation option")),
    ]),
    Table::new("tar", Gnu, Text, "-t -x -c -r -u -A -d -v -z -j -J -Z -a -k -m -o -p -s -O -B -i -n -R -S -P -W -h -l -U -f= -C= -b= -H= -K= -L= -N= -V= --list --extract --get --create --append --update --catenate --concatenate --diff --compare --delete --test-label --verbose --gzip --gunzip --ungzip --bzip2 --xz --lzma --lzip --lzop --zstd --auto-compress --no-auto-compress --file= --directory= --blocking-factor= --format= --starting-file= --tape-length= --after-date= --newer= --newer-mtime= --label= --exclude= --exclude-backups --exclude-caches --exclude-caches-all --exclude-caches-under --exclude-ignore= --exclude-ignore-recursive= --exclude-tag= --exclude-tag-all= --exclude-tag-under= --exclude-vcs --exclude-vcs-ignores --wildcards --no-wildcards --wildcards-match-slash --no-wildcards-match-slash --anchored --no-anchored --ignore-case --no-ignore-case --recursion --no-recursion --numeric-owner --full-time --utc --quoting-style= --quote-chars= --no-quote-chars= --show-transformed-names --show-stored-names --transform= --xform= --strip-components= --occurrence?= --to-stdout --keep-old-files --skip-old-files --keep-newer-files --keep-directory-symlink --overwrite --overwrite-dir --no-overwrite-dir --unlink-first --recursive-unlink --read-full-records --ignore-zeros --ignore-failed-read --seek --no-seek --block-number --totals?= --checkpoint?= --null --no-null --unquote --no-unquote --verbatim-files-from --no-verbatim-files-from --absolute-names --touch --same-owner --no-same-owner --same-permissions --preserve-permissions --no-same-permissions --preserve-order --same-order --preserve --sparse --sparse-version= --dereference --hard-dereference --one-file-system --one-top-level?= --no-ignore-command-error --ignore-command-error --force-local --warning= --record-size= --mode= --owner= --group= --mtime= --owner-map= --group-map= --clamp-mtime --sort= --pax-option= --acls --no-acls --selinux --no-selinux --xattrs --no-xattrs --xattrs-include= --xattrs-exclude= --no-check-device --check-device --delay-directory-restore --no-delay-directory-restore --backup?= --suffix= --atime-preserve?= --restrict --hole-detection= --help --usage --version --show-defaults --show-omitted-dirs --interactive --confirmation -w").raise(&[
        ("-I= --use-compress-program= -F= --info-script= --new-volume-script= --rsh-command= --rmt-command=", RunsProgram),
        ("--to-command=", RunsShell),
        ("--checkpoint-action=", unknown("runs an action at checkpoints, which may execute a command")),
        ("-T= --files-from= -X= --exclude-from=", ReadsFile),
        ("--index-file= -g= --listed-incremental= --volno-file=", WritesFile),
        ("-G --incremental --remove-files -M --multi-volume --verify", write("changes files")),
    ]),
    Table::new("unzip", Exact, Files, "-l -v -t -Z -z -p -c -q -o -n -j -C -L -M -U -V -X -a -b -f -u -K -T -W -D -s -h -P= -d= -O= -I="),
    Table::new("gzip", Gnu, Files, "-c -d -f -k -l -n -N -q -r -t -v -h -V -L -z -e -Q -1 -2 -3 -4 -5 -6 -7 -8 -9 -0 -S= -T= -F= -C= -M= --stdout --to-stdout --decompress --uncompress --compress --force --keep --list --no-name --name --quiet --recursive --test --verbose --fast --best --rsyncable --synchronous --suffix= --threads= --format= --check= --memlimit= --single-stream --no-sparse --extreme --no-warn --robot --license --help --version --long?= --ultra --adapt --no-progress --progress").raise(&[
        ("-o= --output=", WritesFile),
        ("--rm", write("removes the source files")),
        ("-D= --patch-from= --files0-from=", ReadsFile),
    ]),
    Table::new("xxd", Words, Files, "-a -autoskip -b -bits -c= -cols= -C -capitalize -E -EBCDIC -e -g= -groupsize= -h -help -i -include -l= -len= -n= -name= -o= -offset= -p -ps -postscript -plain -s= -seek= -u -v -version -d -R= -r -revert"),
    Table::new("ls", Gnu, Paths, "-a -A -b -B -c -C -d -D -f -F -g -G -h -H -i -I= -k -l -L -m -n -N -o -p -q -Q -r -R -s -S -t -T= -u -U -v -w= -x -X -Z -1 --all --almost-all --author --escape --block-size= --ignore-backups --color?= --colour?= --directory --dired --classify?= --file-type --format= --full-time --group-directories-first --no-group --human-readable --si --dereference-command-line --dereference-command-line-symlink-to-dir --hide= --hyperlink?= --indicator-style= --inode --ignore= --kibibytes --dereference --numeric-uid-gid --literal --hide-control-chars --show-control-chars --quote-name --quoting-style= --reverse --recursive --size --sort= --time= --time-style= --tabsize= --width= --context --zero --help --version"),
    Table::new("dir", Gnu, Paths, "-a -A -d -h -l -R -r -s -S -t -1 --all --almost-all --directory --human-readable --recursive --reverse --size --help --version"),
    Table::new("vdir", Gnu, Paths, "-a -A -d -h -R -r -s -S -t --all --almost-all --directory --human-readable --recursive --reverse --size --help --version"),
    Table::new("stat", Gnu, Paths, "-L -f -c= -t --dereference --file-system --format= --printf= --terse --cached= --help --version"),
    Table::new("file", Gnu, Paths, "-b -i -L -h -z -Z -k -s -r -N -0 -E -e= -F= -P= -S --brief --mime --mime-type --mime-encoding --apple --extension --dereference --no-dereference --uncompress --uncompress-noreport --keep-going --special-files --raw --no-pad --print0 --exclude= --exclude-quiet= --separator= --parameter= --no-sandbox --help --version").raise(&[
        ("-C --compile", write("compiles a magic file")),
        ("-m= --magic-file= -f= --files-from=", ReadsFile),
    ]),
    Table::new("du", Gnu, Paths, "-0 -a -b -B= -c -d= -D -h -H -k -L -l -m -P -s -S -t= -x --apparent-size --all --bytes --block-size= --total --max-depth= --human-readable --si --inodes --dereference --dereference-args --count-links --no-dereference --separate-dirs --summarize --threshold= --time?= --time-style= --exclude= --one-file-system --null --help --version").raise(&[
        ("-X= --exclude-from= --files0-from=", ReadsFile),
    ]),
    Table::new("df", Gnu, Paths, "-a -B= -h -H -i -k -l -P -t= -T -x= --all --block-size= --human-readable --si --inodes --local --output?= --portability --print-type --sync --no-sync --total --type= --exclude-type= --help --version"),
    Table::new("realpath", Gnu, Paths, "-e -m -L -P -q -s -z --canonicalize-existing --canonicalize-missing --logical --physical --quiet --relative-to= --relative-base= --strip --no-symlinks --zero --help --version"),
    Table::new("readlink", Gnu, Paths, "-f -e -m -n -q -s -v -z --canonicalize --canonicalize-existing --canonicalize-missing --no-newline --quiet --silent --verbose --zero --help --version"),
    Table::new("basename", Gnu, Text, "-a -s= -z --multiple --suffix= --zero --help --version"),
    Table::new("dirname", Gnu, Text, "-z --zero --help --version"),
    Table::new("tree", Gnu, Paths, "-a -d -l -f -x -L= -R -P= -I= -q -N -Q -p -u -g -s -h -D -F -v -t -c -U -r -i -A -S -n -C -X -J -H= -T= --gitignore --ignore-case --matchdirs --metafirst --prune --info --noreport --charset= --filelimit= --dirsfirst --filesfirst --si --du --timefmt= --inodes --device --nolinks --sort= --hintro= --houtro= --help --version").raise(&[
        ("-o=", WritesFile),
        ("--fromfile --fromtabfile --infofile=", ReadsFile),
    ]),
    Table::new("lsattr", Posix, Paths, "-R -V -a -d -l -p -v"),
    Table::new("getfacl", Gnu, Paths, "-a -d -c -e -E -s -R -L -P -t -n -p --access --default --omit-header --all-effective --no-effective --skip-base --recursive --logical --physical --tabular --numeric --absolute-names --help --version"),
    Table::new("namei", Gnu, Paths, "-l -m -n -o -v -x -Z --long --modes --nosymlinks --owners --vertical --mountpoints --context --help --version"),
    Table::new("find", Words, Paths, "-H -L -P -D= -O1 -O2 -O3 -maxdepth= -mindepth= -mount -xdev -depth -d -follow -noleaf -ignore_readdir_race -noignore_readdir_race -regextype= -warn -nowarn -daystart -name= -iname= -path= -ipath= -wholename= -iwholename= -regex= -iregex= -type= -xtype= -size= -empty -user= -group= -uid= -gid= -nouser -nogroup -perm= -mtime= -mmin= -atime= -amin= -ctime= -cmin= -newer= -anewer= -cnewer= -newermt= -newerat= -newerct= -newermm= -neweraa= -newercc= -newerBt= -newermB= -used= -links= -inum= -samefile= -lname= -ilname= -readable -writable -executable -fstype= -context= -true -false -not -a -and -o -or -print -print0 -printf= -ls -prune -quit -help --help -version --version").raise(&[
        ("-files0-from=", ReadsFile),
        ("-fprint= -fprint0= -fls=", WritesFile),
        ("-fprintf==", write("writes a file")),
    ]),
];

/// Programs that show the system's state.
pub(crate) const SYSTEM: &[Table] = &[
    Table::new("pwd", Gnu, Text, "-L -P --help --version"),
    Table::new("whoami", Gnu, Text, "--help --version"),
    Table::new("id", Gnu, Text, "-a -g -G -n -r -u -z -Z --context --group --groups --name --real --user --zero --help --version"),
    Table::new("groups", Gnu, Text, "--help --version"),
    Table::new("uname", Gnu, Text, "-a -s -n -r -v -m -p -i -o --all --kernel-name --nodename --kernel-release --kernel-version --machine --processor --hardware-platform --operating-system --help --version"),
    Table::new("arch", Gnu, Text, "--help --version"),
    Table::new("nproc", Gnu, Text, "--all --ignore= --help --version"),
    Table::new("tty", Gnu, Text, "-s --silent --quiet --help --version"),
    Table::new("users", Gnu, Paths, "--help --version"),
    Table::new("logname", Gnu, Text, "--help --version"),
    Table::new("hostid", Gnu, Text, "--help --version"),
    Table::new("free", Gnu, Text, "-b -k -m -g -h -w -t -s= -c= -l -v -L --bytes --kilo --mega --giga --tera --peta --kibi --mebi --gibi --tebi --pebi --human --si --wide --total --seconds= --count= --lohi --line --committed --help --version"),
    Table::new("uptime", Gnu, Text, "-p -s -c --pretty --since --container --raw -r --help --version"),
    Table::new("pgrep", Gnu, Text, "-a -c -d= -f -g= -G= -i -l -n -o -O= -P= -s= -t= -u= -U= -v -w -x -A -F= -r= --count --delimiter= --full --pgroup= --group= --ignore-case --list-name --list-full --newest --oldest --older= --parent= --session= --terminal= --euid= --uid= --inverse --lightweight --exact --pidfile= --logpidfile --runstates= --ignore-ancestors --cgroup= --ns= --nslist= --env= --help --version"),
    Table::new("pidof", Posix, Text, "-s -c -q -w -x -z -o= -S= -n"),
    Table::new("lsblk", Gnu, Paths, "-a -b -d -D -e= -f -h -i -I= -J -l -m -M -n -o= -O -p -P -r -s -S -t -T?= -x= -z -E= -A -N -v -w= -y -Q= --all --bytes --nodeps --discard --exclude= --fs --help --ascii --include= --json --list --perms --merge --noheadings --output= --output-all --paths --pairs --raw --inverse --scsi --topology --tree?= --sort= --zoned --dedup= --noempty --nvme --virtio --width= --shell --filter= --highlight= --ct= --ct-filter= --properties-by= --version"),
    Table::new("lscpu", Gnu, Text, "-a -b -c -e?= -p?= -s= -x -y -B -C?= -J --all --online --offline --extended?= --parse?= --sysroot= --hex --physical --json --bytes --caches?= --output-all --raw --help --version"),
    Table::new("lsmem", Gnu, Text, "-a -b -J -n -o= -P -r -S= --all --bytes --json --noheadings --output= --output-all --pairs --raw --split= --summary?= --sysroot= --help --version"),
    Table::new("lspci", Posix, Text, "-m -t -v -k -x -b -D -P -n -q -Q -s= -d= -i= -p= -A= -O= -H= -F="),
    Table::new("lsusb", Gnu, Text, "-v -t -s= -d= -D= -V --verbose --tree --version --help"),
    Table::new("lsns", Gnu, Text, "-J -l -n -o= -p= -r -t= -u -W -T?= -P -Q= -H --json --list --noheadings --output= --output-all --persistent --task= --raw --notruncate --nowrap --type= --tree?= --filter= --help --version"),
    Table::new("lsmod", Gnu, Text, "--help --version"),
    Table::new("lsof", Words, Paths, "-a -b -c= +c= -C -d= +d= +D= -D= -e= -E +E -f +f -F= -g= -h -H -i -i4 -i6 -K -l -L +L -L1 +L1 -m= +m -M +M -n -N -o -O -p= -P -Q -r= +r= -R -s -S= -t -T -u= -U -v -V -w +w -x -X -z= -Z= -?").raise(&[]),
    Table::new("getconf", Gnu, Text, "-a -v= --all --help --version"),
    Table::new("locale", Gnu, Text, "-a -m -c -k -v --all-locales --charmaps --category-name --keyword-name --verbose --help --version"),
    Table::new("w", Gnu, Text, "-h -i -o -p -s -f -u --no-header --ip-addr --old-style --pids --short --from --no-current --help --version"),
    Table::new("who", Gnu, Paths, "-a -b -d -H -l -m -p -q -r -s -t -T -u -w --all --boot --dead --heading --login --lookup --process --count --runlevel --short --time --mesg --message --writable --users --help --version"),
    Table::new("last", Gnu, Text, "-a -d -F -i -n= -R -s= -t= -p= -w -x -T --hostlast --dns --fulltimes --ip --limit= --nohostname --since= --until= --present= --fullnames --system --time-format= --tab-separated --help --version").raise(&[("-f= --file=", ReadsFile)]).numbers(),
    Table::new("lastb", Gnu, Text, "-a -d -F -i -n= -R -s= -t= -w -x --hostlast --dns --fulltimes --ip --limit= --nohostname --since= --until= --fullnames --system --help --version").numbers(),
    Table::new("lastlog", Gnu, Text, "-b= -t= -u= --before= --time= --user= --help").raise(&[
        ("-C --clear -S --set", write("changes the lastlog records")),
    ]),
    Table::new("vmstat", Gnu, Text, "-a -f -m -n -s -d -D -p= -S= -t -w -y --active --forks --slabs --one-header --stats --disk --disk-sum --partition= --unit= --timestamp --wide --no-first --help --version"),
    Table::new("iostat", Posix, Text, "-c -d -h -H -k -m -N -s -t -V -x -y -z -g= -j= -o= -p?= --compact --dec= --human --pretty"),
    Table::new("mpstat", Posix, Text, "-A -H -I= -N= -n -P= -T -u -V -o= --dec="),
    Table::new("dmesg", Gnu, Text, "-d -e -f= -H -k -l= -L?= -P -p -r -S -s= -t -T -u -w -W -x -J --decode --reltime --facility= --human --kernel --level= --color?= --nopager --force-prefix --raw --syslog --buffer-size= --ctime --notime --since= --until= --userspace --follow --follow-new --time-format= --json --noescape --show-delta --help --version").raise(&[
        ("-c -C -D -E -n= --clear --read-clear --console-off --console-on --console-level=", write("clears the kernel log or changes its level")),
        ("-F= --file=", ReadsFile),
    ]),
    Table::new("journalctl", Gnu, Text, "-a -b?= -e -f -g= -k -l -m -n?= -N -o= -p= -q -r -S= -t= -T= -u= -U= -x --all --boot?= --pager-end --follow --grep= --dmesg --full --merge --lines?= --fields --quiet --reverse --since= --until= --identifier= --exclude-identifier= --unit= --user-unit= --user --system --output= --output-fields= --priority= --facility= --catalog --case-sensitive?= --cursor= --after-cursor= --show-cursor --cursor-file= --no-full --no-pager --no-tail --no-hostname --utc --list-boots --disk-usage --header --field= -F= --invocation= -I --list-invocations --list-namespaces --namespace= --directory= -D= --root= --image= --image-policy= --verify --list-catalog --dump-catalog --help --version --truncate-newline --machine= -M=").numbers().raise(&[
        ("--vacuum-size= --vacuum-time= --vacuum-files= --rotate --flush --sync --relinquish-var --smart-relinquish-var --setup-keys --update-catalog", write("removes, rotates or changes journal files")),
        ("--file=", ReadsFile),
    ]),
    Table::new("getent", Gnu, Text, "-s= -i -A --service= --no-idn --no-addrconfig --help --version"),
    Table::new("whatis", Gnu, Text, "-d -v -r -w -l -C= -L= -m= -M= -s= --debug --verbose --regex --wildcard --long --config-file= --locale= --systems= --manpath= --sections= --section= --help --version"),
    Table::new("apropos", Gnu, Text, "-d -v -r -w -e -a -l -C= -L= -m= -M= -s= --debug --verbose --regex --wildcard --exact --and --long --config-file= --locale= --systems= --manpath= --sections= --section= --help --version"),
    Table::new("cal", Gnu, Text, "-1 -3 -m -s -j -y -Y -w -n= -S -v -c= --one --three --monday --sunday --julian --year --twelve --week?= --months= --span --vertical --color?= --reform= --iso --columns= --help --version"),
    Table::new("ncal", Posix, Text, "-1 -3 -b -C -e -h -j -J -m= -o -p -s= -w -y -A= -B= -M -S -H="),
    Table::new("sleep", Gnu, Text, "--help --version"),
    Table::new("true", Gnu, Text, ""),
    Table::new("false", Gnu, Text, ""),
    Table::new("seq", Gnu, Text, "-f= -s= -w --format= --separator= --equal-width --help --version"),
    Table::new("yes", Gnu, Text, "--help --version"),
    Table::new("factor", Gnu, Text, "-h --exponents --help --version"),
    Table::new("expr", Gnu, Text, "--help --version"),
    Table::new("printenv", Gnu, Text, "-0 --null --help --version"),
    Table::new("which", Gnu, Text, "-a -s --all --skip-alias --skip-functions --skip-dot --skip-tilde --show-dot --show-tilde --tty-only --read-alias --read-functions -i --help --version"),
    Table::new("whereis", Posix, Text, "-b -m -s -u -B= -M= -S= -f -l -g"),
    Table::new("ps", Gnu, Text, "-A -a -d -e -N -T -r -x -f -F -l -j -y -Z -M -L -m -H -w -c -o= -O= -p= -q= -C= -G= -g= -s= -t= -u= -U= --deselect --forest --format= --sort= --pid= --ppid= --quick-pid= --user= --User= --group= --Group= --sid= --tty= --cols= --columns= --width= --lines= --rows= --headers --no-headers --noheaders --cumulative --context --help= --info --version -V"),
    Table::new("top", Posix, Text, "-b -c -d= -E= -e= -H -i -n= -o= -O -p= -s -S -u= -U= -w?= -1 -h -v").raise(&[]),
    Table::new("systemctl", Gnu, Text, "-t= -p= -P= -a -l -r -q -n= -o= --type= --state= --property= --value --all --recursive --reverse --after --before --with-dependencies --full --show-types --job-mode= --user --system --global --no-pager --no-legend --plain --no-ask-password --lines= --output= --firmware-setup --timestamp= --quiet --no-block --check-inhibitors= --failed --legend= --no-warn --help --version").raise(&[
        ("-H= --host= -M= --machine= --root= --image=", unknown("acts on another host, container or root")),
    ]),
    Table::new("sysctl", Gnu, Text, "-a -A -X -n -e -N -q -b -r= -h --all --binary --ignore --names --values --pattern= --quiet --help --version -V").raise(&[
        ("-w --write -p?= --load?= -f?= --system", write("changes kernel settings")),
    ]),
    Table::new("date", Gnu, Text, "-d= -I?= -R -u --date= --debug --iso-8601?= --resolution --rfc-email --rfc-3339= --rfc-822 --rfc-2822 --utc --universal --help --version").raise(&[
        ("-s= --set=", write("sets the system clock")),
        ("-f= --file= -r= --reference=", ReadsFile),
    ]),
    Table::new("hostname", Gnu, Text, "-s -f -d -i -I -a -A -y -v --short --fqdn --long --domain --ip-address --all-ip-addresses --alias --all-fqdns --yp --nis --verbose --help --version -V").raise(&[
        ("-F= --file= -b --boot", write("sets the host name")),
    ]),
    Table::new("crontab", Posix, Text, "-l -u=").raise(&[
        ("-r", Raise(Class::Dangerous, "removes every cron job")),
        ("-e", Raise(Class::Interactive, "opens an editor")),
        ("-i -n= -c -x=", write("changes the cron table")),
    ]),
    Table::new("mount", Gnu, Text, "-l -t= --show-labels --types= --help --version -V").raise(&[]),
];

/// Programs that reach the network. What they send is read only when it is written in the
/// command; text only known at run time in a host, URL, header or query leaves the machine.
pub(crate) const NETWORK: &[Table] = &[
    Table::new("curl", Exact, Network, "-s -S -f -L -I -i -v -k -g -G -N -4 -6 -0 -1 -2 -3 -# -l -j -q -Z -M -a -B -R -V -h -A= -e= -H= -m= -r= -w= -y= -Y= -z= -C= --silent --show-error --fail --fail-with-body --fail-early --location --location-trusted --head --include --verbose --insecure --globoff --get --no-buffer --ipv4 --ipv6 --http1.0 --http1.1 --http2 --http2-prior-knowledge --http3 --http3-only --tlsv1 --tlsv1.0 --tlsv1.1 --tlsv1.2 --tlsv1.3 --tls-max= --sslv2 --sslv3 --compressed --compressed-ssh --tr-encoding --raw --no-keepalive --keepalive-time= --connect-timeout= --max-time= --max-redirs= --max-filesize= --retry= --retry-delay= --retry-max-time= --retry-connrefused --retry-all-errors --range= --time-cond= --user-agent= --referer= --header= --proxy-header= --write-out= --progress-bar --no-progress-meter --styled-output --no-styled-output --url= --resolve= --connect-to= --noproxy= --cacert= --capath= --crlfile= --pinnedpubkey= --cert-status --cert-type= --key-type= --ciphers= --tls13-ciphers= --curves= --ssl-no-revoke --ssl-revoke-best-effort --ssl-allow-beast --ssl-reqd --ssl --false-start --parallel --parallel-max= --parallel-immediate --path-as-is --disable-eprt --disable-epsv --ftp-pasv --list-only --append --crlf --ignore-content-length --interface= --local-port= --dns-servers= --dns-interface= --dns-ipv4-addr= --dns-ipv6-addr= --doh-url= --doh-insecure --doh-cert-status --happy-eyeballs-timeout-ms= --expect100-timeout= --speed-limit= --speed-time= --limit-rate= --rate= --no-alpn --no-npn --no-sessionid --suppress-connect-headers --tcp-nodelay --tcp-fastopen --trace-time --trace-ids --disable --anyauth --basic --digest --ntlm --ntlm-wb --negotiate --proto= --proto-default= --proto-redir= --remote-time --xattr --sasl-ir --json-with-nothing --unix-socket= --abstract-unix-socket= --help?= --version --manual --variable-nothing --ca-native --proxy-ca-native --ip-tos= --vlan-priority= --mptcp --skip-existing --remove-on-error --no-clobber --etag-compare= --hsts= --alt-svc= --user= -u= --oauth2-bearer= --aws-sigv4= --login-options= --sasl-authzid= --service-name= --delegation= --request-target= --socks5-gssapi --socks5-gssapi-nec --socks5-basic --socks5-gssapi-service=").raise(&[
        ("-o= --output= -D= --dump-header= -c= --cookie-jar= --trace= --trace-ascii= --libcurl= --stderr= --etag-save= --hsts-save=", WritesFile),
        ("-O --remote-name --remote-name-all -J --remote-header-name --output-dir= --create-dirs --create-file-mode=", write("saves a file")),
        ("-d= --data= --data-raw= --data-binary= --data-urlencode= --data-ascii= --json= -X= --request= -b= --cookie= --url-query=", Custom),
        ("-F= --form= --form-string= -T= --upload-file= --mail-from= --mail-rcpt= --mail-rcpt-allowfails --mail-auth= --ftp-create-dirs --quote= -Q= --post301 --post302 --post303 --form-escape --upload-flags=", write("sends data")),
        ("-n --netrc --netrc-optional --netrc-file=", sensitive("sends credentials stored in a netrc file")),
        ("-E= --cert= --key= --pass= --proxy-cert= --proxy-key= --proxy-pass= --krb= --ssl-auto-client-cert --proxy-ssl-auto-client-cert", sensitive("authenticates with a local private key or credentials")),
        ("-x= --proxy= --preproxy= --socks4= --socks4a= --socks5= --socks5-hostname= -U= --proxy-user= --proxy-anyauth --proxy-basic --proxy-digest --proxy-negotiate --proxy-ntlm --proxy-insecure --proxytunnel -p", unknown("sends the request through a proxy")),
        ("-K= --config= --variable= --expand-url= --expand-data= --expand-header= --expand-output=", unknown("takes options or variables from a file or the environment")),
        ("--engine= --ssl-sessions=", unknown("loads a crypto engine or session file")),
    ]),
    Table::new("wget", Gnu, Network, "-q -v -n= -S -4 -6 -T= -t= -U= -w= -Q= -l= -N -L -H -D= -R= -A= -I= -X= --quiet --verbose --no-verbose --server-response --spider --timeout= --dns-timeout= --connect-timeout= --read-timeout= --tries= --waitretry= --wait= --random-wait --user-agent= --header= --max-redirect= --no-check-certificate --check-certificate= --https-only --secure-protocol= --ca-certificate= --ca-directory= --no-cache --no-cookies --content-on-error --content-disposition --ignore-length --inet4-only --inet6-only --prefer-family= --no-dns-cache --restrict-file-names= --no-iri --local-encoding= --remote-encoding= --progress= --show-progress --no-hsts --no-proxy --compression= --retry-connrefused --retry-on-host-error --retry-on-http-error= --limit-rate= --user= --password= --http-user= --http-password= --no-http-keep-alive --auth-no-challenge --referer= --bind-address= --help --version -V -h -d --debug").raise(&[
        ("-O= --output-document=", Custom),
        ("-o= --output-file= -a= --append-output= --save-cookies= --hsts-file= --rejected-log=", WritesFile),
        ("-P= --directory-prefix= -r --recursive -m --mirror -p --page-requisites -k --convert-links -c --continue -b --background -x --force-directories --save-headers -K --backup-converted --delete-after -B= --base=", write("saves files")),
        ("--post-data= --body-data= --method= --post-file= --body-file=", write("sends data")),
        ("--load-cookies= --certificate= --private-key= --ask-password", sensitive("sends stored cookies or credentials")),
        ("-i= --input-file= -F --force-html", sensitive("fetches URLs read from a file")),
        ("-e= --execute= --config=", unknown("runs wgetrc commands")),
        ("--use-askpass?=", RunsProgram),
    ]),
    Table::new("dig", Words, Network, "-4 -6 -m -r -u -v -h -b= -c= -p= -q= -t= -x= -i +short +noshort +trace +notrace +nocmd +cmd +noall +all +answer +noanswer +stats +nostats +question +noquestion +authority +noauthority +additional +noadditional +comments +nocomments +tcp +notcp +vc +novc +dnssec +nodnssec +multiline +nomultiline +recurse +norecurse +search +nosearch +besteffort +nobesteffort +identify +noidentify +ttlid +nottlid +ttlunits +nottlunits +time=1 +time=2 +time=3 +time=5 +tries=1 +tries=2 +tries=3 +retry=0 +retry=1 +retry=2 +nssearch +cdflag +nocdflag +adflag +noadflag +aaflag +noaaflag +yaml +noyaml +json +split=0 +nsid +nocookie +cookie +edns +noedns +bufsize=512 +bufsize=1232 +bufsize=4096 +subnet=0 +class +noclass +rrcomments +norrcomments +crypto +nocrypto +onesoa +fail +nofail +idnout +noidnout +expire +header-only +ignore +noignore +keepopen +qr +noqr +showsearch +sigchase +topdown +zflag +ednsflags +padding +unknownformat").raise(&[
        ("-f=", sensitive("sends the lines of a file as queries")),
        ("-k= -y=", sensitive("signs queries with a TSIG key")),
    ]),
    Table::new("host", Posix, Network, "-a -A -c= -C -d -l -i -N= -r -R= -s -t= -T -U -v -V -w -W= -4 -6 -m="),
    Table::new("nslookup", Words, Network, "-debug -nodebug -d2 -nod2 -search -nosearch -recurse -norecurse -vc -novc -fail -nofail -type=a -type=aaaa -type=mx -type=ns -type=txt -type=soa -type=cname -type=ptr -type=srv -type=any -query=a -query=aaaa -query=mx -query=ns -query=txt -query=soa -query=cname -query=ptr -query=srv -query=any -q=a -q=mx -q=ns -q=txt -timeout=1 -timeout=2 -timeout=5 -retry=1 -retry=2 -port=53 -class=in -version"),
    Table::new("ping", Posix, Network, "-p= -c= -i= -w= -W= -q -n -s= -t= -4 -6 -I= -D -O -a -A -b -B -d -e= -F= -l= -L -m= -M= -N= -Q= -r -R -S= -T= -U -v -V -h -H -C"),
    Table::new("ping6", Posix, Network, "-p= -c= -i= -w= -W= -q -n -s= -t= -I= -D -O -a -A -B -d -l= -L -m= -M= -N= -Q= -r -S= -U -v -V -h"),
    Table::new("traceroute", Gnu, Network, "-4 -6 -d -F -I -T -U -n -r -A -e -V -f= -g= -i= -m= -N= -p= -t= -l= -s= -q= -w= -z= -M= -O= --icmp --tcp --udp --udplite= --dccp --mtu --back --help --version --sport= --fwmark= --first= --gateway= --interface= --max-hops= --sim-queries= --port= --tos= --flowlabel= --queries= --source= --wait= --sendwait= --module= --options="),
    Table::new("tracepath", Posix, Network, "-4 -6 -n -b -l= -m= -p= -V"),
    Table::new("netstat", Gnu, Text, "-a -t -u -w -x -l -n -p -r -i -s -e -o -c -W -g -M -v -4 -6 -A= -N -C -F -T -Z --all --tcp --udp --udplite --raw --unix --listening --numeric --numeric-hosts --numeric-ports --numeric-users --program --route --interfaces --statistics --extend --timers --continuous --wide --groups --masquerade --verbose --symbolic --protocol= --inet --inet6 --cache --fib --help --version -V"),
    Table::new("ss", Gnu, Text, "-a -l -n -r -t -u -x -p -e -m -o -i -s -w -S -d -E -Z -z -H -O -b -M -0 -4 -6 -A= -f= -N= -T --all --listening --numeric --resolve --tcp --udp --unix --raw --sctp --dccp --vsock --tipc --xdp --packet --processes --extended --memory --options --info --summary --events --context --contexts --no-header --oneline --bpf --mptcp --inet-sockets --threads --cgroup --query= --socket= --family= --net= --help --version -V").raise(&[
        ("-K --kill", write("closes sockets")),
        ("-D= --diag=", WritesFile),
        ("-F= --filter=", ReadsFile),
    ]),
    Table::new("ip", Words, Text, "-4 -6 -0 -B -M -s -d -h -j -p -o -r -a -t -c -n= -f= -l= -N -br -brief -details -stats -statistics -json -pretty -oneline -resolve -all -timestamp -ts -human -human-readable -iec -color -color=auto -color=always -color=never -family= -netns= -loops= -numeric -V -Version -help").raise(&[
        ("-b= -batch= -force", unknown("runs commands from a file")),
    ]),
    Table::new("ifconfig", Words, Text, "-a -s -v"),
    Table::new("iptables", Gnu, Text, "-L?= -S?= -n -v -x -t= -w?= -W= --list?= --list-rules?= --numeric --verbose --exact --line-numbers --table= --wait?= --wait-interval= --help --version -V").raise(&[]),
    Table::new("ip6tables", Gnu, Text, "-L?= -S?= -n -v -x -t= -w?= -W= --list?= --list-rules?= --numeric --verbose --exact --line-numbers --table= --wait?= --wait-interval= --help --version -V"),
    Table::new("ssh", Posix, Network, "-4 -6 -C -q -v -T -n -x -k -a -g -K -y -G -V -b= -c= -e= -i= -J= -l= -m= -p= -B= -P= -o=").raise(&[
        ("-A", sensitive("forwards the SSH agent, whose keys the remote host can then use")),
        ("-X -Y", unknown("forwards the X display")),
        ("-f -M -S= -O= -w= -s", unknown("runs in the background, shares a control socket or a tunnel device")),
        ("-F= -I=", unknown("reads a configuration file or loads a PKCS#11 library, which may run commands")),
        ("-E=", WritesFile),
        ("-t", Raise(Class::Interactive, "allocates a terminal")),
        ("-N -L= -R= -D= -W=", Raise(Class::Interactive, "holds a tunnel open")),
        ("-Q=", Raise(Class::Read, "lists supported algorithms")),
    ]),
];

/// Database clients: the options of a session that runs one statement given on the command
/// line (the statement itself is classified as SQL).
pub(crate) const DATABASES: &[Table] = &[
    Table::new("psql", Gnu, Text, "-c= -d= -h= -p= -U= -w -W -X -A -t -q -x -H -F= -R= -P= -v= -a -b -e -E -n -S -z -0 -l -V -? -1 --command= --dbname= --host= --port= --username= --no-password --password --no-psqlrc --no-align --tuples-only --quiet --expanded --html --field-separator= --record-separator= --pset= --set= --variable= --echo-all --echo-errors --echo-queries --echo-hidden --no-readline --single-line --field-separator-zero --record-separator-zero --csv --list --version --help?= --single-transaction --table-attr=").raise(&[
        ("-f= --file=", unknown("runs an SQL file that is not known")),
        ("-o= --output= -L= --log-file=", WritesFile),
        ("-s --single-step", Raise(Class::Interactive, "asks before each statement")),
    ]),
    Table::new("mysql", Gnu, Text, "-e= -h= -P= -u= -p?= -D= -N -B -s -t -r -E -H -X -v -V -q -n -b -C -c -f -i -j -K -U -?  --execute= --host= --port= --user= --password?= --database= --skip-column-names --column-names --batch --silent --table --raw --vertical --html --xml --verbose --version --quick --unbuffered --no-beep --compress --comments --force --ignore-spaces --safe-updates --i-am-a-dummy --protocol= --socket= -S= --ssl --ssl-mode= --ssl-ca= --ssl-capath= --ssl-verify-server-cert --skip-ssl --connect-timeout= --max-allowed-packet= --default-character-set= --binary-mode --auto-vertical-output --show-warnings --help --no-auto-rehash -A --skip-auto-rehash --line-numbers --skip-line-numbers --column-type-info --delimiter= --net-buffer-length= --select-limit= --max-join-size= --print-defaults --no-defaults").raise(&[
        ("--tee=", WritesFile),
        ("--pager?=", RunsProgram),
        ("--init-command= --defaults-file= --defaults-extra-file= --defaults-group-suffix= --plugin-dir= --local-infile?= --load-data-local-dir= --system-command --enable-cleartext-plugin --login-path=", unknown("takes commands or options from elsewhere, or loads files")),
    ]),
];

/// Shell builtins that print or set the shell's own state.
pub(crate) const SHELL: &[Table] = &[
    Table::new("echo", Posix, Text, "-n -e -E"),
    Table::new("jobs", Posix, Text, "-l -n -p -r -s -x"),
    Table::new("dirs", Posix, Text, "-c -l -p -v"),
    Table::new("help", Posix, Text, "-d -m -s"),
    Table::new("times", Posix, Text, ""),
    Table::new("caller", Posix, Text, ""),
    Table::new("compgen", Posix, Text, "-a -b -c -d -e -f -g -j -k -s -u -v -o= -A= -G= -W= -P= -S= -X=")
        .raise(&[("-C= -F=", unknown("runs a command or function to complete"))]),
    Table::new(
        "complete",
        Posix,
        Text,
        "-p -r -D -E -I -a -b -c -d -e -f -g -j -k -s -u -v -o= -A= -G= -W= -P= -S= -X=",
    )
    .raise(&[("-C= -F=", unknown("sets a command or function to run on completion"))]),
    Table::new("history", Posix, Text, "-p -s")
        .raise(&[("-c -d= -a -n -r -w", write("changes or writes the history"))]),
    Table::new("hash", Posix, Text, "-r -d -l -t")
        .raise(&[("-p=", unknown("makes a command name run another program"))]),
    Table::new("wait", Posix, Text, "-f -n -p="),
    Table::new("shift", Posix, Text, ""),
    Table::new("exit", Posix, Text, ""),
    Table::new("return", Posix, Text, ""),
    Table::new("break", Posix, Text, ""),
    Table::new("continue", Posix, Text, ""),
    Table::new("logout", Posix, Text, ""),
    Table::new("fg", Posix, Text, ""),
    Table::new("bg", Posix, Text, ""),
    Table::new("disown", Posix, Text, "-a -h -r"),
    Table::new("suspend", Posix, Text, "-f"),
    Table::new("ulimit", Posix, Text, "-S -H -a -b -c -d -e -f -i -k -l -m -n -p -q -r -s -t -u -v -x -P -R -T"),
    Table::new("umask", Posix, Text, "-p -S"),
    Table::new("unalias", Posix, Text, "-a"),
    Table::new("shopt", Posix, Text, "-p -q -s -u -o"),
    Table::new(
        "set",
        Words,
        Text,
        "-a +a -b +b -e +e -f +f -h +h -k +k -m +m -n +n -p +p -t +t -u +u -v +v -x +x -B +B -C +C -E +E -H +H -P +P -T +T -o +o -eu -eo -ex -eux -euo -xe -ue -ux -exo -euxo",
    ),
    Table::new("bind", Posix, Text, "-l -p -P -s -S -v -V -X -m= -q= -u= -r=").raise(&[
        ("-x=", unknown("binds a key to a shell command")),
        ("-f=", unknown("reads key bindings from a file")),
    ]),
    Table::new("test", Posix, Text, ""),
    Table::new("[", Posix, Text, ""),
    Table::new(":", Posix, Text, ""),
    Table::new("type", Posix, Text, "-a -f -p -P -t"),
    Table::new("read", Posix, Text, "-a= -d= -e -E -i= -n= -N= -p= -r -s -t= -u="),
    Table::new("unset", Posix, Text, "-f -v -n"),
    Table::new("declare", Posix, Text, "-a -A -f -F -g -i -I -l -n -p -r -t -u -x"),
    Table::new("mapfile", Posix, Text, "-d= -n= -O= -s= -t -u= -c= -C="),
];

/// git's global options and the subcommands that only read.
pub(crate) const GIT: &[Table] = &[
    Table::new("git", Posix, Text, "-C= -p -P --paginate --no-pager --no-replace-objects --no-lazy-fetch --no-optional-locks --no-advice --literal-pathspecs --glob-pathspecs --noglob-pathspecs --icase-pathspecs --bare --html-path --man-path --info-path --version --help --list-cmds= --attr-source=").raise(&[
        ("-c= --config-env=", Custom),
        ("--git-dir= --work-tree=", unknown("uses another repository, whose configuration may run programs")),
        ("--namespace= --super-prefix=", Effect::Safe),
        ("--exec-path?=", unknown("runs git commands from another directory")),
    ]),
    Table::new("git log", Gnu, Text, GIT_LOG).raise(GIT_OUTPUT).numbers(),
    Table::new("git show", Gnu, Text, GIT_LOG).raise(GIT_OUTPUT).numbers(),
    Table::new("git whatchanged", Gnu, Text, GIT_LOG).raise(GIT_OUTPUT).numbers(),
    Table::new("git diff", Gnu, Files, GIT_LOG).raise(GIT_OUTPUT).numbers(),
    Table::new("git diff-tree", Gnu, Text, GIT_LOG).raise(GIT_OUTPUT).numbers(),
    Table::new("git diff-files", Gnu, Text, GIT_LOG).raise(GIT_OUTPUT).numbers(),
    Table::new("git diff-index", Gnu, Text, GIT_LOG).raise(GIT_OUTPUT).numbers(),
    Table::new("git shortlog", Gnu, Text, "-n -s -e -c -w?= --numbered --summary --email --committer --format= --group= --all --branches --tags --remotes --no-merges --merges --since= --after= --until= --before= --author= --max-count= --help").numbers(),
    Table::new("git status", Gnu, Paths, "-s -b -v -u?= -z --short --branch --show-stash --porcelain?= --long --verbose --untracked-files?= --ignore-submodules?= --ignored?= --column?= --no-column --ahead-behind --no-ahead-behind --renames --no-renames --find-renames?= --null --help"),
    Table::new("git blame", Gnu, Files, "-b -c -e -f -l -n -p -s -t -w -M?= -C?= -L= -S= --root --show-stats --score-debug --show-name --show-number --show-email --porcelain --line-porcelain --incremental --encoding= --contents= --date= --progress --no-progress --reverse= --first-parent --abbrev?= --ignore-rev= --ignore-revs-file= --color-lines --color-by-age --minimal --help"),
    Table::new("git annotate", Gnu, Files, "-b -c -e -f -l -n -p -s -t -w -M?= -C?= -L= --root --porcelain --date= --help"),
    Table::new("git rev-parse", Gnu, Text, "-q --abbrev-ref?= --all --branches?= --tags?= --remotes?= --glob= --exclude= --disambiguate= --git-dir --git-common-dir --git-path= --is-inside-git-dir --is-inside-work-tree --is-bare-repository --is-shallow-repository --local-env-vars --absolute-git-dir --resolve-git-dir= --show-cdup --show-prefix --show-toplevel --show-superproject-working-tree --show-object-format?= --show-ref-format --shared-index-path --since= --after= --until= --before= --short?= --symbolic --symbolic-full-name --verify --quiet --default= --prefix= --sq --sq-quote --not --revs-only --no-revs --flags --no-flags --parseopt --keep-dashdash --stop-at-non-option --stuck-long --help"),
    Table::new("git rev-list", Gnu, Text, GIT_LOG).numbers(),
    Table::new("git ls-files", Gnu, Paths, "-c -d -m -o -i -s -u -k -z -t -v -f -x= -X= --cached --deleted --modified --others --ignored --stage --unmerged --killed --directory --no-empty-directory --eol --exclude= --exclude-from= --exclude-per-directory= --exclude-standard --error-unmatch --with-tree= --full-name --recurse-submodules --abbrev?= --debug --deduplicate --sparse --format= --help"),
    Table::new("git ls-tree", Gnu, Text, "-d -r -t -l -z --long --name-only --name-status --object-only --full-name --full-tree --abbrev?= --format= --help"),
    Table::new("git ls-remote", Gnu, Network, "-h -t -q -b --heads --tags --branches --refs --quiet --exit-code --get-url --symref --sort= -o= --server-option= --help"),
    Table::new("git cat-file", Gnu, Text, "-t -s -e -p --textconv --filters --path= --batch?= --batch-check?= --batch-command?= --batch-all-objects --buffer --unordered --follow-symlinks -Z --allow-unknown-type --use-mailmap --no-use-mailmap --help"),
    Table::new("git describe", Gnu, Text, "--all --tags --contains --abbrev= --candidates= --exact-match --debug --long --match= --exclude= --always --first-parent --dirty?= --broken?= --help"),
    Table::new("git reflog", Gnu, Text, GIT_LOG).numbers(),
    Table::new("git show-ref", Gnu, Text, "-d -s -q --head --heads --branches --tags --dereference --hash?= --verify --abbrev?= --quiet --exclude-existing?= --exists --help"),
    Table::new("git for-each-ref", Gnu, Text, "-s -p --count= --shell --perl --python --tcl --sort= --format= --color?= --points-at= --merged?= --no-merged?= --contains?= --no-contains?= --ignore-case --omit-empty --exclude= --include-root-refs --help"),
    Table::new("git name-rev", Gnu, Text, "--tags --refs= --exclude= --all --annotate-stdin --stdin --name-only --no-undefined --always --help"),
    Table::new("git merge-base", Gnu, Text, "-a --all --octopus --independent --is-ancestor --fork-point --help"),
    Table::new("git version", Gnu, Text, "--build-options"),
    Table::new("git help", Gnu, Text, "-a -g -c -i -m -w --all --guides --config --verbose --no-external-commands --no-aliases --user-interfaces --developer-interfaces"),
    Table::new("git check-ignore", Gnu, Paths, "-q -v -n -z --quiet --verbose --non-matching --no-index --stdin --help"),
    Table::new("git count-objects", Gnu, Text, "-v -H --verbose --human-readable --help"),
    Table::new("git verify-commit", Gnu, Text, "-v --verbose --raw --help"),
    Table::new("git verify-tag", Gnu, Text, "-v --verbose --raw --format= --help"),
    Table::new("git var", Gnu, Text, "-l --help"),
    Table::new("git cherry", Gnu, Text, "-v --abbrev?= --help"),
    Table::new("git range-diff", Gnu, Text, GIT_LOG).numbers(),
    Table::new("git show-branch", Gnu, Text, "-a -r --all --remotes --topo-order --date-order --current --sparse --more= --list --independent --merge-base --no-name --sha1-name --topics --reflog?= --color?= --no-color --help"),
    Table::new("git grep", Gnu, FirstThenFiles, "-a -i -I -w -v -h -H -E -G -F -P -n -l -L -c -o -p -W -z -q -e= -A= -B= -C= -m= --cached --no-index --untracked --no-exclude-standard --exclude-standard --recurse-submodules --text --textconv --no-textconv --ignore-case --max-depth= --word-regexp --invert-match --full-name --extended-regexp --basic-regexp --perl-regexp --fixed-strings --line-number --column --files-with-matches --name-only --files-without-match --null --only-matching --count --color?= --no-color --break --heading --show-function --function-context --after-context= --before-context= --context= --threads= --and --or --not --all-match --quiet --max-count= --help").raise(&[
        ("-O?= --open-files-in-pager?=", RunsProgram),
        ("-f=", ReadsFile),
    ]).numbers(),
    Table::new("git branch", Gnu, Text, "-a -r -l -v -q --all --remotes --list --verbose --quiet --show-current --contains?= --no-contains?= --merged?= --no-merged?= --points-at= --sort= --format= --color?= --no-color --column?= --no-column --abbrev= --no-abbrev --omit-empty --ignore-case -i --help").raise(&[
        ("-d -D -m -M -c -C -f -u --delete --move --copy --force --set-upstream-to= --unset-upstream --edit-description --create-reflog --track?= --no-track --recurse-submodules", write("changes branches")),
    ]),
    Table::new("git tag", Gnu, Text, "-l -n?= -i --list --contains?= --no-contains?= --merged?= --no-merged?= --points-at= --sort= --format= --color?= --column?= --no-column --ignore-case --omit-empty --help").raise(&[
        ("-a -s -u= -f -d -v -m= -F= -e --annotate --sign --local-user= --force --delete --verify --message= --file= --edit --cleanup= --create-reflog --trailer=", write("creates, deletes or signs tags")),
    ]),
    Table::new("git remote", Gnu, Text, "-v --verbose --help"),
    Table::new("git config", Gnu, Text, "-l -z --get --get-all --get-regexp --get-urlmatch --list --show-origin --show-scope --name-only --global --system --local --worktree --null --type= --bool --int --bool-or-int --path --expiry-date --default= --includes --no-includes --get-color --get-colorbool --all --regexp --url= --value= --fixed-value --help").raise(&[
        ("-f= --file= --blob=", ReadsFile),
        ("-e --edit", Raise(Class::Interactive, "opens an editor")),
        ("--add --replace-all --unset --unset-all --rename-section --remove-section", write("changes the configuration")),
    ]),
    Table::new("git stash", Gnu, Text, GIT_LOG).numbers(),
    Table::new("git worktree", Gnu, Text, "-v --verbose --porcelain -z --expire= --help"),
    Table::new("git submodule", Gnu, Text, "-q --quiet --cached --recursive --help"),
    Table::new("git notes", Gnu, Text, "--ref= --help"),
];

const GIT_LOG: &str = "-p -u -s -z -n= -i -E -F -P -M?= -C?= -B?= -D -R -S= -G= -L= -O= -l= -U= -W -w -b -a -g -m -c -t -r --patch --no-patch --unified= --raw --patch-with-raw --patch-with-stat --stat?= --stat-width= --stat-name-width= --stat-count= --stat-graph-width= --numstat --shortstat --dirstat?= --cumulative --dirstat-by-file?= --summary --name-only --name-status --submodule?= --color?= --no-color --color-moved?= --no-color-moved --color-moved-ws= --word-diff?= --word-diff-regex= --color-words?= --no-renames --rename-empty --no-rename-empty --check --ws-error-highlight= --full-index --binary --abbrev?= --no-abbrev --break-rewrites?= --find-renames?= --find-copies?= --find-copies-harder --irreversible-delete --diff-filter= --diff-algorithm= --diff-merges= --no-diff-merges --combined-all-paths --minimal --patience --histogram --anchored= --pickaxe-all --pickaxe-regex --skip-to= --rotate-to= --relative?= --no-relative --text --ignore-cr-at-eol --ignore-space-at-eol --ignore-space-change --ignore-all-space --ignore-blank-lines --ignore-matching-lines= --ignore-submodules?= --inter-hunk-context= --function-context --exit-code --quiet --no-ext-diff --textconv --no-textconv --src-prefix= --dst-prefix= --no-prefix --default-prefix --line-prefix= --indent-heuristic --no-indent-heuristic --ita-invisible-in-index --ita-visible-in-index --cached --staged --merge-base --no-index --follow --no-decorate --decorate?= --decorate-refs= --decorate-refs-exclude= --clear-decorations --source --mailmap --no-mailmap --use-mailmap --no-use-mailmap --full-diff --log-size --oneline --pretty?= --format= --abbrev-commit --no-abbrev-commit --encoding= --expand-tabs?= --no-expand-tabs --notes?= --no-notes --show-notes?= --show-signature --relative-date --date= --parents --children --left-right --graph --show-linear-break?= --max-count= --skip= --since= --after= --since-as-filter= --until= --before= --author= --committer= --grep-reflog= --grep= --all-match --invert-grep --regexp-ignore-case --basic-regexp --extended-regexp --fixed-strings --perl-regexp --remove-empty --merges --no-merges --min-parents= --max-parents= --no-min-parents --no-max-parents --first-parent --exclude-first-parent-only --not --all --branches?= --tags?= --remotes?= --glob= --exclude= --exclude-hidden= --reflog --alternate-refs --single-worktree --ignore-missing --bisect --stdin --cherry-mark --cherry-pick --left-only --right-only --cherry --walk-reflogs --merge --boundary --simplify-by-decoration --show-pulls --full-history --dense --sparse --simplify-merges --ancestry-path?= --date-order --author-date-order --topo-order --reverse --no-walk?= --do-walk --count --objects --objects-edge --unpacked --in-commit-order --no-object-names --timestamp --header --format-patch --dd --remerge-diff --keep --index --include-untracked --only-untracked --creation-factor= --no-dual-color --help --show-current-patch";
const GIT_OUTPUT: &[(&str, Effect)] = &[
    ("--output=", WritesFile),
    ("--ext-diff", Raise(Class::Read, "runs the external diff program the configuration names")),
    ("--output-indicator-new= --output-indicator-old= --output-indicator-context=", Effect::Safe),
    ("--orderfile= --rotate-to-file=", ReadsFile),
];

/// kubectl's global options and the options of the commands that only read. A command's
/// table is merged with the global one: cobra takes global flags anywhere.
pub(crate) const KUBECTL: &[Table] = &[
    Table::new("kubectl", Exact, Text, "-n= --namespace= --context= --cluster= --user= --request-timeout= -v= --v= --vmodule= --match-server-version --disable-compression --warnings-as-errors --log-flush-frequency= --one-output --skip-headers --skip-log-headers --stderrthreshold= --alsologtostderr --logtostderr --add-dir-header --log-file-max-size= --log-backtrace-at= --help -h").raise(&[
        ("-s= --server= --tls-server-name= --insecure-skip-tls-verify", sensitive("sends the user's credentials to another API server")),
        ("--as= --as-group= --as-uid= --as-user-extra=", unknown("impersonates another user or group")),
        ("--kubeconfig= --token= --username= --password= --client-certificate= --client-key= --certificate-authority= --cache-dir=", unknown("uses other credentials or configuration, which may run a credential plugin")),
        ("--profile= --profile-output= --log-file= --log-dir=", WritesFile),
    ]),
    Table::new("kubectl get", Exact, Text, "-A --all-namespaces -o= --output= -l= --selector= --field-selector= -w --watch --watch-only --output-watch-events --chunk-size= --ignore-not-found -L= --label-columns= --no-headers --server-print --show-kind --show-labels --show-managed-fields --sort-by= --subresource= --template= --allow-missing-template-keys -f= --filename= -k= --kustomize= -R --recursive --raw="),
    Table::new("kubectl describe", Exact, Text, "-A --all-namespaces -l= --selector= -f= --filename= -k= --kustomize= -R --recursive --show-events --chunk-size="),
    Table::new("kubectl logs", Exact, Text, "-f --follow -p --previous -c= --container= --all-containers --since= --since-time= --tail= --timestamps --limit-bytes= --prefix --ignore-errors --max-log-requests= --pod-running-timeout= -l= --selector= --insecure-skip-tls-verify-backend --all-pods"),
    Table::new("kubectl explain", Exact, Text, "--recursive --api-version= -o= --output="),
    Table::new("kubectl top", Exact, Text, "-A --all-namespaces -l= --selector= --containers --no-headers --sort-by= --use-protocol-buffers --field-selector= --sum --show-capacity"),
    Table::new("kubectl version", Exact, Text, "--client -o= --output="),
    Table::new("kubectl api-resources", Exact, Text, "--api-group= --cached --namespaced?= --no-headers -o= --output= --sort-by= --verbs= --categories="),
    Table::new("kubectl api-versions", Exact, Text, ""),
    Table::new("kubectl cluster-info", Exact, Text, "-A --all-namespaces --namespaces= -o= --output= --pod-running-timeout=").raise(&[("--output-directory=", write("writes the dump into a directory"))]),
    Table::new("kubectl diff", Exact, Text, "-f= --filename= -k= --kustomize= -R --recursive --server-side --force-conflicts --field-manager= -l= --selector= --concurrency= --show-managed-fields --prune --prune-allowlist="),
    Table::new("kubectl events", Exact, Text, "-A --all-namespaces --chunk-size= --for= -o= --output= --types= -w --watch --no-headers --allow-missing-template-keys --show-managed-fields --template="),
    Table::new("kubectl wait", Exact, Text, "--for= --timeout= -l= --selector= --all -A --all-namespaces -f= --filename= -k= --kustomize= -R --recursive --field-selector= --local -o= --output= --allow-missing-template-keys --template="),
    Table::new("kubectl kustomize", Exact, Text, "--load-restrictor= --reorder= --stack-trace --as-current-user --env= -e=").raise(&[
        ("-o= --output=", WritesFile),
        ("--enable-alpha-plugins --enable-exec --enable-helm --enable-star --helm-command= --helm-api-versions= --helm-kube-version= --mount= --network --network-name=", unknown("runs plugins or helm while it renders")),
    ]),
    Table::new("kubectl completion", Exact, Text, ""),
    Table::new("kubectl options", Exact, Text, ""),
    Table::new("kubectl help", Exact, Text, ""),
    Table::new("kubectl auth can-i", Exact, Text, "-A --all-namespaces --list --no-headers -q --quiet --subresource="),
    Table::new("kubectl auth whoami", Exact, Text, "-o= --output= --allow-missing-template-keys --template= --show-managed-fields"),
    Table::new("kubectl config view", Exact, Text, "--minify -o= --output= --merge?= --allow-missing-template-keys --template= --show-managed-fields").raise(&[
        ("--raw --flatten", sensitive("prints the kubeconfig with its credentials")),
    ]),
    Table::new("kubectl config get-contexts", Exact, Text, "-o= --output= --no-headers"),
    Table::new("kubectl config get-clusters", Exact, Text, ""),
    Table::new("kubectl config get-users", Exact, Text, ""),
    Table::new("kubectl config current-context", Exact, Text, ""),
    Table::new("kubectl rollout history", Exact, Text, "--revision= -o= --output= -l= --selector= -f= --filename= -k= --kustomize= -R --recursive --allow-missing-template-keys --template= --show-managed-fields"),
    Table::new("kubectl rollout status", Exact, Text, "--revision= --timeout= -w --watch -l= --selector= -f= --filename= -k= --kustomize= -R --recursive"),
    Table::new("kubectl apply view-last-applied", Exact, Text, "-o= --output= -l= --selector= -f= --filename= -k= --kustomize= -R --recursive --all"),
    Table::new("kubectl plugin list", Exact, Text, "--name-only"),
    Table::new("kubectl whoami", Exact, Text, "-o= --output=").raise(&[("-t --show-token --show-context --show-server --show-console", sensitive("prints the session token"))]),
    Table::new("kubectl status", Exact, Text, "-o= --output= --suggest"),
    Table::new("kubectl projects", Exact, Text, "-q --short"),
    Table::new("kubectl exec", Exact, Text, "-c= --container= -q --quiet --pod-running-timeout= -f= --filename=").raise(&[
        ("-i -t --stdin --tty", Raise(Class::Interactive, "opens a terminal in a pod")),
    ]),
    Table::new("kubectl dry-run", Exact, Text, "--dry-run?= -f= --filename= -k= --kustomize= -R --recursive -o= --output= -l= --selector= --field-manager= --validate?= --server-side --force-conflicts --save-config --show-managed-fields --template= --allow-missing-template-keys --overwrite --all --local --image= --replicas= --port= --labels= --env= --restart= --from-literal= --from-file= --from-env-file= --type= --field-selector= --resource-version= --containers= --schedule= --class= --rule= --tls= --default-backend= --annotation= --verb= --resource= --resource-name= --clusterrole= --role= --serviceaccount= --group= --tcp= --udp= --target-port= --protocol= --external-ip= --cluster-ip= --name= --session-affinity= --min= --max= --cpu-percent= --grace-period= --cascade= --wait?= --timeout= --ignore-not-found --now --force --prune --prune-allowlist= --subresource= -p= --patch= --patch-file= --record --command --hostport= --limits= --requests= --docker-server= --docker-username= --docker-email= --docker-password= --from= --cert= --key= --append-hash --namespace-selector= --pod-selector= --policy-types= --selector-labels="),
];

/// helm's global options and the options of the commands that only read.
pub(crate) const HELM: &[Table] = &[
    Table::new(
        "helm",
        Exact,
        Text,
        "-n= --namespace= --kube-context= --debug --burst-limit= --qps= --content-cache= --color= --colour= -h --help",
    )
    .raise(&[
        (
            "--kube-apiserver= --kube-tls-server-name= --kube-insecure-skip-tls-verify",
            sensitive("sends the user's credentials to another API server"),
        ),
        ("--kube-as-user= --kube-as-group=", unknown("impersonates another user or group")),
        (
            "--kubeconfig= --kube-token= --kube-ca-file= --registry-config= --repository-config= --repository-cache=",
            unknown("uses other credentials or configuration"),
        ),
    ]),
    Table::new(
        "helm list",
        Exact,
        Text,
        "-a --all -A --all-namespaces -d --date --deployed --failed --pending --superseded --uninstalled --uninstalling -f= --filter= -m= --max= --offset= -o= --output= -q --short -r --reverse -l= --selector= --time-format= --no-headers",
    ),
    Table::new("helm status", Exact, Text, "-o= --output= --revision= --show-desc --show-resources"),
    Table::new("helm history", Exact, Text, "--max= -o= --output="),
    Table::new("helm get", Exact, Text, "--revision= -o= --output= --template= -a --all"),
    Table::new("helm show", Exact, Text, HELM_CHART),
    Table::new(
        "helm search",
        Exact,
        Text,
        "--max-col-width= -o= --output= -r --regexp --devel --version= -l --versions --fail-on-no-result --endpoint= --list-repo-url",
    ),
    Table::new("helm template", Exact, Text, HELM_RENDER).raise(HELM_RENDER_EFFECTS),
    Table::new(
        "helm lint",
        Exact,
        Text,
        "--strict --set= --set-string= --set-json= --set-literal= -f= --values= --with-subcharts --quiet --kube-version= --skip-schema-validation",
    ),
    Table::new("helm version", Exact, Text, "--short --template= -c --client"),
    Table::new("helm env", Exact, Text, ""),
    Table::new("helm verify", Exact, Text, "--keyring="),
    Table::new("helm completion", Exact, Text, "--no-descriptions"),
    Table::new("helm help", Exact, Text, ""),
    Table::new("helm repo list", Exact, Text, "-o= --output="),
    Table::new("helm plugin list", Exact, Text, ""),
    Table::new("helm dependency list", Exact, Text, "--max-col-width="),
    Table::new("helm dry-run", Exact, Text, HELM_RENDER).raise(HELM_RENDER_EFFECTS),
];

const HELM_CHART: &str = "--version= --repo= --devel --username= --password= --password-stdin --ca-file= --cert-file= --key-file= --insecure-skip-tls-verify --keyring= --plain-http --pass-credentials --verify --jsonpath=";
const HELM_RENDER: &str = "--set= --set-string= --set-json= --set-literal= --version= --repo= --devel --username= --password= --ca-file= --cert-file= --key-file= --insecure-skip-tls-verify --keyring= --plain-http --pass-credentials --verify --include-crds --skip-crds --skip-tests -s= --show-only= --release-name --name-template= -a= --api-versions= --kube-version= --is-upgrade --validate --description= --disable-openapi-validation --dry-run?= --enable-dns --generate-name -g --no-hooks --replace --skip-schema-validation --timeout= --wait --wait-for-jobs --atomic --rollback-on-failure --create-namespace --install -i --reuse-values --reset-values --reset-then-reuse-values --history-max= --cleanup-on-fail --force --recreate-pods --hide-notes --hide-secret --labels= --take-ownership --render-subchart-notes -o= --output= --keep-history --cascade= --ignore-not-found --max= --server-side?= --force-conflicts";
const HELM_RENDER_EFFECTS: &[(&str, Effect)] = &[
    ("--set-file= -f= --values=", ReadsFile),
    ("--output-dir=", WritesFile),
    ("--post-renderer= --post-renderer-args=", RunsProgram),
    ("--dependency-update", write("downloads chart dependencies into the chart")),
];

/// docker/podman global options and the subcommands that only read.
pub(crate) const CONTAINERS: &[Table] = &[
    Table::new(
        "docker ps",
        Exact,
        Text,
        "-a --all -f= --filter= --format= -n= --last= -l --latest --no-trunc -q --quiet -s --size --help --sync --external --pod --ns --sort= -w= --watch=",
    ),
    Table::new(
        "docker images",
        Exact,
        Text,
        "-a --all --digests -f= --filter= --format= --no-trunc -q --quiet --tree --help --sort= -n --noheading",
    ),
    Table::new("docker ls", Exact, Text, "-f= --filter= --format= -q --quiet --no-trunc --cluster --help"),
    Table::new("docker df", Exact, Text, "-v --verbose --format= --help"),
    Table::new("docker info", Exact, Text, "-f= --format= --help --debug"),
    Table::new("docker inspect", Exact, Text, "-f= --format= -s --size --type= --help -l --latest"),
    Table::new(
        "docker logs",
        Exact,
        Text,
        "--details -f --follow --since= --until= -n= --tail= -t --timestamps --help --names -l --latest --color",
    ),
    Table::new(
        "docker stats",
        Exact,
        Text,
        "-a --all --format= --no-stream --no-trunc --help -i= --interval= --no-reset",
    ),
    Table::new("docker top", Exact, Text, "--help"),
    Table::new("docker history", Exact, Text, "-H --human --no-trunc -q --quiet --format= --platform= --help"),
    Table::new("docker version", Exact, Text, "-f= --format= --help"),
    Table::new("docker events", Exact, Text, "-f= --filter= --format= --since= --until= --help"),
    Table::new("docker search", Exact, Text, "-f= --filter= --format= --limit= --no-trunc --help --list-tags"),
    Table::new("docker", Posix, Text, "-c= --context= -l= --log-level= -D --debug -v --version -h --help").raise(&[(
        "-H= --host= --tls --tlsverify --tlscacert= --tlscert= --tlskey= --config=",
        unknown("talks to another daemon or uses other credentials"),
    )]),
    Table::new("podman", Posix, Text, "--log-level= -h --help -v --version --remote=false").raise(&[(
        "-c= --connection= --url= --identity= -r --remote --root= --runroot= --storage-driver= --config= --runtime=",
        unknown("talks to another service or storage"),
    )]),
];

/// Wrappers: the options they take before the command they run.
pub(crate) const WRAPPERS: &[Table] = &[
    Table::new("sudo", Posix, Text, "-u= -g= -h= -p= -C= -D= -r= -t= -U= -T= -n -E -H -P -S -k -K -b -i -s -e -l -v -V -B -N -A --user= --group= --host= --prompt= --close-from= --chdir= --role= --type= --other-user= --command-timeout= --non-interactive --preserve-env?= --set-home --preserve-groups --stdin --reset-timestamp --remove-timestamp --background --login --shell --edit --list --validate --version --bell --no-update --askpass --help"),
    Table::new("doas", Posix, Text, "-u= -C= -L -n -s"),
    Table::new("env", GnuStop, Text, "-i -0 -v -u= -C= -S= -P= --ignore-environment --null --unset= --chdir= --split-string= --debug --block-signal?= --default-signal?= --ignore-signal?= --list-signal-handling --help --version"),
    Table::new("nice", GnuStop, Text, "-n= --adjustment= --help --version").numbers(),
    Table::new("nohup", GnuStop, Text, "--help --version"),
    Table::new("setsid", GnuStop, Text, "-c -f -w --ctty --fork --wait --help --version"),
    Table::new("stdbuf", GnuStop, Text, "-i= -o= -e= --input= --output= --error= --help --version"),
    Table::new("timeout", GnuStop, Text, "-s= -k= -v -f -p --signal= --kill-after= --preserve-status --foreground --verbose --help --version"),
    Table::new("time", GnuStop, Text, "-f= -p -v -q -a --format= --portability --verbose --quiet --append --help --version").raise(&[("-o= --output=", WritesFile)]),
    Table::new("ionice", GnuStop, Text, "-c= -n= -t --class= --classdata= --ignore --help --version").raise(&[
        ("-p= -P= -u= --pid= --pgid= --uid=", write("changes the I/O priority of running processes")),
    ]),
    Table::new("chrt", GnuStop, Text, "-b -d -f -i -o -r -m -v -R -T= -P= -D= --batch --deadline --fifo --idle --other --rr --max --verbose --reset-on-fork --sched-runtime= --sched-period= --sched-deadline= --help --version").raise(&[
        ("-p -a --pid --all-tasks", write("changes the scheduling of running processes")),
    ]),
    Table::new("taskset", GnuStop, Text, "-c --cpu-list --help --version").raise(&[
        ("-p -a --pid --all-tasks", write("changes the CPU affinity of running processes")),
    ]),
    Table::new("xargs", GnuStop, Text, "-0 -d= -E= -e?= -I= -i?= -L= -l?= -n= -P= -r -s= -t -x --null --delimiter= --eof?= --replace?= --max-lines?= --max-args= --max-procs= --no-run-if-empty --max-chars= --verbose --exit --show-limits --process-slot-var= --help --version").raise(&[
        ("-a= --arg-file=", ReadsFile),
        ("-p -o --interactive --open-tty", Raise(Class::Interactive, "asks on the terminal")),
    ]),
    Table::new("strace", GnuStop, Text, "-c -C -d -D -f -F -h -i -k -n -q -r -t -T -v -V -w -x -y -z -Z -a= -b= -e= -I= -O= -P= -s= -S= -U= -X= --summary-only --summary --follow-forks --output-separately --instruction-pointer --stack-trace --syscall-number --relative-timestamps?= --absolute-timestamps?= --timestamps?= --syscall-times?= --no-abbrev --successful-only --failed-only --seccomp-bpf --string-limit= --summary-sort-by= --summary-columns= --summary-wall-clock --columns= --decode-fds?= --decode-pids?= --trace= --trace-path= --signal= --status= --quiet?= --silent?= --abbrev= --verbose= --raw= --read= --write= --const-print-style= --detach-on= --kill-on-exit --daemonize?= --help --version").raise(&[
        ("-o= --output=", WritesFile),
        ("-A --output-append-mode", Effect::Safe),
        ("-p= --attach=", sensitive("traces a running process, seeing the data it reads and writes")),
        ("-u= --user=", unknown("runs the command as another user")),
        ("-E= --env=", unknown("sets the environment of the command")),
        ("--inject= --fault=", unknown("changes what system calls return")),
    ]),
    Table::new("ltrace", GnuStop, Text, "-c -C -d -D= -f -h -i -l= -L -n= -r -s= -S -t -T -w= -x= -V -e= -a= -A= -F= --demangle --library= --indent= --align= --help --version").raise(&[
        ("-o= --output=", WritesFile),
        ("-p=", sensitive("traces a running process, seeing the data it reads and writes")),
        ("-u=", unknown("runs the command as another user")),
    ]),
    Table::new("flock", GnuStop, Text, "-s -x -e -u -n -w= -o -E= -F --shared --exclusive --unlock --nonblock --nb --timeout= --close --conflict-exit-code= --no-fork --verbose --help --version").raise(&[
        ("-c= --command=", RunsShell),
    ]),
    Table::new("watch", GnuStop, Text, "-n= -d?= -t -b -e -g -c -x -p -w -q= -r --interval= --differences?= --no-title --beep --errexit --chgexit --color --no-color --exec --precise --no-wrap --no-rerun --equexit= --help --version"),
    Table::new("command", Posix, Text, "-p -v -V"),
    Table::new("exec", Posix, Text, "-c -l -a="),
    Table::new("builtin", Posix, Text, ""),
    Table::new("chroot", GnuStop, Text, "--userspec= --groups= --skip-chdir --help --version"),
];
