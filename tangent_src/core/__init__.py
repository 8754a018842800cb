"""The core language shared by every stage: tree walking and copying (walk.py), node
builders and dataflow facts. Nothing here knows about derivatives, rules or back ends."""
