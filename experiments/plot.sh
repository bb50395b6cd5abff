# plot.sh: render one gnuplot script as a PNG (for screens) and a PDF (for
# a paper draft: vector, embeds in LaTeX), each written whole or not at
# all.  Sourced by experiments/table[123].sh.
#
#   render BASE WIDTH HEIGHT < script
#
# writes BASE.png (WIDTH x HEIGHT pixels) and BASE.pdf (the same layout at
# 150 pixels to the inch, so an 800-pixel plot is 5.3 in wide, a column or
# a page width of a paper); the script sets everything but the terminal
# and the output.
render() {
	cat > "$1.gp.tmp"
	for fmt in png pdf; do
		case $fmt in
		png) term="pngcairo size $2,$3 font 'Sans,11' linewidth 1.2" ;;
		pdf) term="pdfcairo size $(awk "BEGIN { print $2 / 150 }")in,$(awk "BEGIN { print $3 / 150 }")in font 'Sans,7' linewidth 0.8 pointscale 0.6" ;;
		esac
		{
			echo "set terminal $term"
			echo "set output '$1.$fmt.tmp'"
			cat "$1.gp.tmp"
			echo "unset output"
		} | gnuplot || { rm -f "$1.gp.tmp" "$1.$fmt.tmp"; return 1; }
		mv "$1.$fmt.tmp" "$1.$fmt"
	done
	rm -f "$1.gp.tmp"
	echo "plot: $1.png, $1.pdf"
}
