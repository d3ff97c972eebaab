# CAD-like parts for the STEP tests and bench/cad-step.bench.ts, built with OpenCascade's DRAW
# (occt-draw-7.6 -b). test/fixtures/cadParts.ts sets $out (an existing folder) before this script
# and caches the results under the script's hash, so changing anything here rebuilds them.
# For each part it writes <name>.stl (incmesh tessellation, binary), <name>.step (OpenCascade's own
# exact STEP) and prints "@@part <name> faces <n> types <Type> <n> ..." and its volume (vprops) that
# the fixture parses: the designed counts come from the built shape itself, not from a hand-kept table.
pload ALL

# Fine enough that a hole's wall is many facets (a reader can tell it is round), coarse enough for
# tests: 0.02 mm chordal deviation, 6 degrees between facets along a curve.
set linearDeflection 0.02
set angularDeflection 6

# A plate with four bolt holes and a central bore, all through: 6 planes + 5 cylinders.
box plate 0 0 0 80 50 12
pcylinder bore 10 12
ttranslate bore 40 25 0
# Boolean results get fresh names: DRAW refuses a result named like its argument.
bcut plate0 plate bore
set n 0
foreach {x y} {10 10 70 10 10 40 70 40} {
  pcylinder hole 3 12
  ttranslate hole $x $y 0
  bcut plate[expr {$n + 1}] plate$n hole
  incr n
}
set parts [list plate_holes plate$n]

# A stepped shaft: three coaxial cylinders, fused and unified so each step is one cylindrical face
# and each shoulder one annular plane (2 ends + 2 shoulders + 3 cylinders).
pcylinder s1 15 20
pcylinder s2 10 30
ttranslate s2 0 0 20
pcylinder s3 6 25
ttranslate s3 0 0 50
bfuse shaft12 s1 s2
bfuse shaft123 shaft12 s3
unifysamedom shaft shaft123
lappend parts stepped_shaft shaft

# A block rounded like a machined cover: its four vertical edges filleted (r 8, cylinders), then
# every edge of the top face (r 3): cylinders along the straight edges, tori around the corners.
box block 0 0 0 60 40 20
set vertical {}
foreach e [explode block e] {
  # An edge is vertical when its bounding box is a point in x and y.
  lassign [bounding $e] x0 y0 z0 x1 y1 z1
  if {$x1 - $x0 < 1e-3 && $y1 - $y0 < 1e-3} { lappend vertical 8 $e }
}
eval blend rounded block $vertical
set top {}
foreach f [explode rounded f] {
  lassign [bounding $f] x0 y0 z0 x1 y1 z1
  if {$z0 > 19.9} { set topFace $f }
}
foreach e [explode $topFace e] { lappend top 3 $e }
eval blend filleted rounded $top
lappend parts filleted_block filleted

# A cone frustum: two planar ends and one conical side.
pcone frustum 20 10 30
lappend parts cone_frustum frustum

# A sphere: one spherical face.
psphere ball 25
lappend parts sphere ball

# DRAW's shapes are global Tcl variables, so this runs at the top level rather than in a proc.
foreach {name shape} $parts {
  set faces [explode $shape f]
  array unset types
  foreach f $faces {
    mksurface g $f
    set text [dump g]
    # A face's surface may come trimmed; the type that matters is the basis under the trimming.
    regexp {Dump of g \*+\s+(\w+)} $text -> type
    if {$type eq "RectangularTrimmedSurface"} { regexp {BasisSurface :\s*(\w+)} $text -> type }
    if {[info exists types($type)]} { incr types($type) } else { set types($type) 1 }
  }
  set line "@@part $name faces [llength $faces] types"
  foreach t [lsort [array names types]] { append line " $t $types($t)" }
  puts $line
  puts "@@volume $name [vprops $shape]"
  puts "@@end $name"
  # stepwrite adds to the session's STEP model; without newmodel each file would hold every part so far.
  newmodel
  stepwrite a $shape $out/$name.step
  incmesh $shape $linearDeflection -angular $angularDeflection
  writestl $shape $out/$name.stl 1
}
