"""FreeCAD's own mesh -> STEP route, the reference for bench/cad-step.bench.ts.

    /usr/bin/python3 bench/reference/freecad_step.py MESH.stl OUT.step [TOLERANCE]

What a FreeCAD user does (Part workbench: "Create shape from mesh", "Convert to solid", "Refine
shape", export STEP), as script: Mesh.read, Part.Shape.makeShapeFromMesh(topology, tolerance),
Part.makeSolid, removeSplitter (the refine that merges coplanar triangles into faces), exportStep.
Prints one JSON line with the time of each step (ms) and the face count, so the benchmark can set
them beside ours. Runs from Debian's /usr/bin/python3 with FreeCAD's library folder on the path
(freecadcmd would exit 0 even when this raises).
"""
import json
import sys
import time

sys.path.append('/usr/lib/freecad-python3/lib')
import FreeCAD  # noqa: E402,F401
import Mesh  # noqa: E402
import Part  # noqa: E402


def main():
    source, target = sys.argv[1], sys.argv[2]
    # FreeCAD's GUI default for "Create shape from mesh" is a sewing tolerance of 0.1 mm.
    tolerance = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
    times = {}
    t0 = time.perf_counter()
    mesh = Mesh.Mesh(source)
    t1 = time.perf_counter()
    shape = Part.Shape()
    shape.makeShapeFromMesh(mesh.Topology, tolerance)
    solid = Part.makeSolid(shape)
    t2 = time.perf_counter()
    refined = solid.removeSplitter()
    t3 = time.perf_counter()
    refined.exportStep(target)
    t4 = time.perf_counter()
    times = {'readMs': (t1 - t0) * 1e3, 'shapeMs': (t2 - t1) * 1e3, 'refineMs': (t3 - t2) * 1e3, 'exportMs': (t4 - t3) * 1e3}
    print(json.dumps({
        'triangles': mesh.CountFacets,
        'faces': len(refined.Faces),
        'solids': len(refined.Solids),
        'valid': refined.isValid(),
        # Mesh to written file, the file read excluded (ours is timed from a mesh in memory too).
        'writeMs': (t4 - t1) * 1e3,
        **times,
    }))


if __name__ == '__main__':
    main()
