#!/bin/sh
# mosei-table.t: experiments/table1.sh and config.sh for the CMU-MOSEI
# sets, on made-up finished runs (a result and a log per run, as
# run-one.sh leaves them): the rows labelled by the modality names, the
# paper's CMU-MOSEI column (only the numbers rq's notes hold), TRAIN_FLAGS
# carrying --modalities vision,text; the CREMA-D/KS table unchanged; a
# clear message where the MOSEI streams are missing.
. tests/tap.sh
plan 15

# fake_run DATASET METHOD SEED TEST_ACC PROBE_A PROBE_V
fake_run() {
	d=$T/res/$1/$2/s$3
	mkdir -p "$d"
	cat >"$d/log" <<EOL
epoch=1 lr=0.01 loss=0.7 train_acc=0.5 train_acc_a=0.5 train_acc_v=0.5 val_loss=0.7 val_acc=0.5 val_acc_a=0.5 val_acc_v=0.5 test_acc=0.5 test_acc_a=0.5 test_acc_v=0.5 air=0.1 rotations=0 rotated=0 seconds=1
epoch=2 lr=0.01 loss=0.6 train_acc=0.6 train_acc_a=0.6 train_acc_v=0.6 val_loss=0.6 val_acc=0.6 val_acc_a=0.6 val_acc_v=0.6 test_acc=$4 test_acc_a=$5 test_acc_v=$6 air=0.2 rotations=0 rotated=0 seconds=1
best_epoch=2 val_acc=0.6 test_acc=$4 train_acc=0.6
EOL
	echo "best_epoch=2 val_acc=0.6 test_acc=$4 train_acc=0.6 wall_seconds=3" >"$d/result"
}
for s in 0 1; do
	fake_run mosei-synth vision $s 0.6$s nan nan
	fake_run mosei-synth text $s 0.8$s nan nan
	fake_run mosei-synth mut $s 0.7$s nan nan
	fake_run mosei-synth mut-rq $s 0.7$s nan nan
	fake_run mosei-synth concat $s 0.8$s 0.6$s 0.8$s
done
mkdir -p "$T/data/mosei-synth"
rq-synth --preset mosei -n 8 -o "$T/data/mosei-synth/train.rqt"
cp "$T/data/mosei-synth/train.rqt" "$T/data/mosei-synth/val.rqt"
cp "$T/data/mosei-synth/train.rqt" "$T/data/mosei-synth/test.rqt"
export RESULTS="$T/res" DATA_ROOT="$T/data" SEEDS="0 1"
DATASET=mosei-synth T1_METHODS="vision text concat mut mut-rq" \
    experiments/table1.sh >"$T/t1" 2>"$T/err"
is 'table1.sh DATASET=mosei-synth: exit 0' "$?" 0
t=$(cat "$T/t1")
like '  ... the paper column is CMU-MOSEI' "$t" '(epoch selected on validation; paper: CMU-MOSEI)'
like '  ... probe columns named by modality' "$t" 'vision probe     text probe       paper CMU-MOSEI'
like '  ... Vision only, with the paper'"'"'s 47.1' "$t" \
    'Vision only                60.5 +- 0.7      n/a              n/a              47.1'
like '  ... Text only, not copied' "$t" \
    'Text only                  80.5 +- 0.7      n/a              n/a              (not copied)'
like '  ... Concat with both probes' "$t" \
    'Concat                     80.5 +- 0.7      60.5 +- 0.7      80.5 +- 0.7      (not copied)'
like '  ... MuT 62.4' "$t" 'MuT                        70.5 +- 0.7      n/a              n/a              62.4'
like '  ... MuT + RollingQ 62.5' "$t" 'MuT + RollingQ             70.5 +- 0.7      n/a              n/a              62.5'
like '  ... AIR favours vision' "$t" '> 0 favours vision'
like '  ... AIR of MuT + RollingQ (its fusion query)' "$t" '  MuT + RollingQ           0.200 +- 0.000'

# config.sh: the flags a run gets, the default rows
cfg() {	# DATASET VAR: the variable after sourcing config.sh
	DATASET=$1 T1_METHODS= TRAIN_FLAGS=${CFG_FLAGS:-} sh -c \
	    '. experiments/config.sh; eval "echo \"\$'"$2"'\""' 2>/dev/null
}
like 'config.sh mosei-synth: TRAIN_FLAGS carries --modalities vision,text' \
    "$(cfg mosei-synth TRAIN_FLAGS)" ' --modalities vision,text'
is 'config.sh mosei: the default rows' "$(cfg mosei T1_METHODS)" \
    'vision text concat mt mt-rq mut mut-rq'
is 'config.sh: a --modalities in TRAIN_FLAGS names the modalities' \
    "$(CFG_FLAGS='-e 1 --modalities text,vision' cfg mosei-synth MOD_A)" text
is 'config.sh synth: no --modalities, the rows as before' \
    "$(cfg synth TRAIN_FLAGS)|$(cfg synth T1_METHODS)" \
    '-e 8 -w 1 -l 0.05 -b 64|audio visual concat ogm pmr mt mt-rq mt-rq3 mtstar-rq jmt mbt mmml mmml-rq'
DATASET=mosei DATA_ROOT=$T/none sh -c '. experiments/config.sh' 2>"$T/err"
like 'config.sh mosei without the streams: says how to make them' \
    "$(cat "$T/err")" 'no CMU-MOSEI streams; make them with scripts/mosei-import mosei_senti_data_noalign.pkl'
