# loss.gp - train and validation loss of one run, from its CSV log.
#
#   gnuplot -e "csv='runs/01-bigram/loss.csv'; out='runs/01-bigram/loss.png'" common/plot/loss.gp
#   gnuplot -e "csv='runs/01-bigram/loss.csv'; term='dumb'" common/plot/loss.gp   (ASCII, to the console)
#
# The CSV columns are read by their header names (gnuplot >= 5).
if (!exists("csv"))   csv   = "loss.csv"
if (!exists("out"))   out   = "loss.png"
if (!exists("term"))  term  = "pngcairo"
if (!exists("title")) title = "Loss vs training step"
if (term eq "dumb") {
    set terminal dumb size 100,30
} else {
    set terminal pngcairo size 900,560 enhanced font "DejaVu Sans,11"
    set output out
}
set datafile separator ","
set title title noenhanced
set xlabel "step"
set ylabel "loss (nats/character)"
set key top right box opaque
set grid
plot csv using "step":"train_loss" with linespoints lw 2 pt 7 ps 0.5 title "train", \
     csv using "step":"val_loss"   with linespoints lw 2 pt 5 ps 0.5 title "val"
if (term ne "dumb") { unset output }
