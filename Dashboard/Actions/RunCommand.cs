namespace Regatta.Dashboard.Actions;

public enum RunCommand { Start, Pause, Resume, Cancel }
