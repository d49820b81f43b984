"""The cockpit's widgets."""
from tui.widgets.agent_pane import AgentPane
from tui.widgets.interventions_panel import InterventionsPanel
from tui.widgets.pane_grid import PaneGrid
from tui.widgets.task_table import TaskTable

__all__ = ["AgentPane", "InterventionsPanel", "PaneGrid", "TaskTable"]
