# compare.gp - validation loss of several runs on one figure (bigram vs GPT, ...).
#
#   gnuplot -e "files='runs/01-bigram/loss.csv runs/05-gpt/cpu-small/loss.csv'; titles='bigram gpt'; \
#               out='runs/compare.png'" common/plot/compare.gp
#   add term='dumb' for an ASCII plot on the console; logx=1 for a log step axis.
#
# `files` and `titles` are space-separated lists of the same length.
if (!exists("files"))  files  = "runs/01-bigram/loss.csv"
if (!exists("titles")) titles = files
if (!exists("out"))    out    = "runs/compare.png"
if (!exists("term"))   term   = "pngcairo"
if (!exists("logx"))   logx   = 0
if (term eq "dumb") {
    set terminal dumb size 100,30
} else {
    set terminal pngcairo size 900,560 enhanced font "DejaVu Sans,11"
    set output out
}
set datafile separator ","
set title "Validation loss vs training step"
set xlabel "step"
set ylabel "validation loss (nats/character)"
set key top right box opaque noenhanced
set grid
if (logx) { set logscale x; set xrange [1:*] }
plot for [i=1:words(files)] word(files, i) using "step":"val_loss" \
     with linespoints lw 2 pt 7 ps 0.5 title word(titles, i)
if (term ne "dumb") { unset output }
